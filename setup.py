"""Packaging glue that setup.cfg cannot express.

The design card puts ``templates/`` and ``static/`` at the top of the repository.  In a wheel
they are shipped inside the package as ``crm/templates`` and ``crm/static`` (``crm.paths``
looks in the checkout first, then in the package).  The build also compiles the gettext
catalogues and vendors htmx from its official npm package, so a wheel runs on its own.
"""
import os
import subprocess
import sys

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))


def _data_packages(prefix, folder):
    """Every folder below ``folder`` as a package name under ``prefix`` (data only)."""
    names = []
    for root, dirs, _files in os.walk(os.path.join(HERE, folder)):
        dirs[:] = [d for d in dirs if not d.startswith((".", "__"))]
        rel = os.path.relpath(root, os.path.join(HERE, folder))
        names.append(prefix if rel == "." else prefix + "." + rel.replace(os.sep, "."))
    return names


def _load_vendor_module():
    """``crm/web/vendor.py`` loaded by its path: importing it as ``crm.web.vendor`` would run
    ``crm/__init__.py``, which needs the dependencies (pluggy, flask...) that the isolated
    build environment does not have."""
    import importlib.util
    path = os.path.join(HERE, "crm", "web", "vendor.py")
    spec = importlib.util.spec_from_file_location("_crm_vendor", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _has_catalogues(folder):
    for _root, _dirs, files in os.walk(folder):
        if any(f.endswith(".po") for f in files):
            return True
    return False


def build_assets():
    """Vendor htmx (pinned, checked) and compile the gettext catalogues, if there are any."""
    _load_vendor_module().ensure_htmx(os.path.join(HERE, "static"))
    translations = os.path.join(HERE, "crm", "translations")
    if _has_catalogues(translations):
        subprocess.check_call([sys.executable, "-m", "babel.messages.frontend", "compile",
                               "-d", translations])


class BuildWithAssets(build_py):
    def run(self):
        build_assets()
        super().run()


# static/vendor/ is filled by the build (htmx): it must exist when the package list is made.
os.makedirs(os.path.join(HERE, "static", "vendor"), exist_ok=True)
template_pkgs = _data_packages("crm.templates", "templates")
static_pkgs = _data_packages("crm.static", "static")
package_dir = {"": "."}
for name in template_pkgs:
    package_dir[name] = os.path.join("templates", *name.split(".")[2:])
for name in static_pkgs:
    package_dir[name] = os.path.join("static", *name.split(".")[2:])

setup(
    packages=find_packages(include=["crm", "crm.*", "plugins", "plugins.*"]) + template_pkgs + static_pkgs,
    package_dir=package_dir,
    package_data={
        **{name: ["*"] for name in template_pkgs + static_pkgs},
        "crm": ["translations/*/LC_MESSAGES/*", "migrations/*.py"],
        "crm.scaffold": ["plugin/**/*.tmpl"],     # `crm plugins new`: the new plugin's files
        "plugins": ["*/templates/**/*", "*/static/**/*", "*/migrations/*.py"],
    },
    cmdclass={"build_py": BuildWithAssets},
)
