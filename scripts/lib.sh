# Shared by scripts/quickstart.sh and scripts/test.sh (sourced, not run).
#
# ensure_venv            .venv with Python >= 3.11 (python3.11, else python3)
# ensure_install EXTRAS  `pip install -e .[EXTRAS]`, skipped when nothing it depends on changed
# ensure_assets          htmx vendored from its npm package + gettext catalogues compiled
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

_base_python() {
    local candidate
    for candidate in "${PYTHON:-}" python3.11 python3; do
        [[ -n "$candidate" ]] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

ensure_venv() {
    if [[ -x "$PY" ]] && "$PY" -c 'import sys, venv; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        return 0
    fi
    local base
    base="$(_base_python)" || die "Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)"
    say "creating .venv with $("$base" --version)"
    rm -rf "$VENV"
    "$base" -m venv "$VENV"
}

# A fingerprint of what an install depends on, so that running a script again is quick.
_install_fingerprint() {
    local extras="$1"
    {
        echo "extras=$extras"
        "$PY" --version 2>&1
        cat "$ROOT/setup.py" "$ROOT/setup.cfg" "$ROOT/pyproject.toml" 2>/dev/null
    } | sha256sum | cut -d' ' -f1
}

ensure_install() {
    local extras="${1:-}" target="." stamp fingerprint
    [[ -n "$extras" ]] && target=".[$extras]"
    stamp="$VENV/.crm-install-${extras:-base}"
    fingerprint="$(_install_fingerprint "$extras")"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$fingerprint" && -x "$VENV/bin/crm" ]] &&
        "$PY" -c 'import crm' 2>/dev/null; then
        say "dependencies up to date (pip install -e '$target' skipped)"
        return 0
    fi
    say "pip install -e '$target'"
    (cd "$ROOT" && "$PY" -m pip install --quiet --disable-pip-version-check -e "$target")
    echo "$fingerprint" >"$stamp"
}

# The editable install runs setup.py's BuildWithAssets, but setuptools only *warns* when a custom
# build_py fails during an editable install, so check the result and do the two steps here too
# (both are idempotent and cheap when already done).
ensure_assets() {
    say "vendoring htmx (pinned npm package, SHA-256 checked)"
    (cd "$ROOT" && "$PY" -m crm.web.vendor "$ROOT/static") >/dev/null
    say "compiling translations"
    local out
    mkdir -p "$ROOT/crm/translations"
    if ! out="$("$VENV/bin/pybabel" compile -d "$ROOT/crm/translations" 2>&1)"; then
        # The one failure that is fine: no catalogue exists yet (a fresh project).
        if grep -qi "no message catalogs found" <<<"$out"; then
            say "no translation catalogue yet: nothing to compile"
        else
            printf '%s\n' "$out" >&2
            die "pybabel compile failed"
        fi
    fi
}
