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


class BuildWithAssets(build_py):
    def run(self):
        sys.path.insert(0, HERE)
        from crm.web import vendor  # noqa: E402  (no third-party imports in that module)

        vendor.ensure_htmx(os.path.join(HERE, "static"))
        subprocess.check_call([sys.executable, "-m", "babel.messages.frontend", "compile",
                               "-d", os.path.join(HERE, "crm", "translations")])
        super().run()


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
        "plugins": ["*/templates/**/*", "*/static/**/*", "*/migrations/*.py"],
    },
    cmdclass={"build_py": BuildWithAssets},
)
