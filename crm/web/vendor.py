"""Third-party browser assets, fetched from their official packages at install time.

Nothing third-party is committed.  htmx comes from its npm package ``htmx.org`` through the
ordinary ``npm`` client, pinned to an exact version and checked against a pinned SHA-256, then
copied to ``static/vendor/``.  This module imports only the standard library so that
``setup.py`` can use it before the dependencies are installed.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

HTMX_VERSION = "2.0.11"
HTMX_SHA256 = "d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717"
HTMX_FILE = f"htmx-{HTMX_VERSION}.min.js"


def _sha256(path: str) -> str:
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def ensure_htmx(static_dir: str) -> str:
    """Make sure ``static_dir/vendor/htmx-<version>.min.js`` exists and is the pinned file."""
    target = os.path.join(static_dir, "vendor", HTMX_FILE)
    if os.path.exists(target) and _sha256(target) == HTMX_SHA256:
        return target
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("npm is needed once at install time to fetch htmx "
                         f"{HTMX_VERSION} from its official package (apt-get install npm)")
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([npm, "pack", f"htmx.org@{HTMX_VERSION}", "--pack-destination", tmp,
                        "--silent"], check=True, stdout=subprocess.DEVNULL)
        tgz = next(f for f in os.listdir(tmp) if f.endswith(".tgz"))
        with tarfile.open(os.path.join(tmp, tgz)) as tar:
            member = tar.getmember("package/dist/htmx.min.js")
            data = tar.extractfile(member).read()
    if hashlib.sha256(data).hexdigest() != HTMX_SHA256:
        raise SystemExit(f"htmx {HTMX_VERSION} from npm does not match the pinned SHA-256; refusing it")
    with open(target, "wb") as fh:
        fh.write(data)
    return target


if __name__ == "__main__":  # python -m crm.web.vendor [static_dir]
    print(ensure_htmx(sys.argv[1] if len(sys.argv) > 1 else
                      os.path.join(os.path.dirname(__file__), "..", "..", "static")))
