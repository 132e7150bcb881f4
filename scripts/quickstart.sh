#!/usr/bin/env bash
# The first command on a fresh machine: install, create the database, load demo data, serve.
#
#   scripts/quickstart.sh          then open http://127.0.0.1:5000 and sign in as admin / demo1234
#
# Safe to run again at any time: the virtualenv, the install, the schema and the demo data are
# only created when missing.  Needs Python >= 3.11 and npm (htmx comes from its npm package).
# Arguments go to `crm serve` (e.g. --port 8000); CRM_INSTANCE_PATH sets the data folder
# (default ./instance).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

# A demo: the printed demo passwords stay usable (outside demo mode every demo user must choose
# a new password at first sign-in, see docs/security.md).  CRM_DEMO_MODE=0 turns that off.
export CRM_DEMO_MODE="${CRM_DEMO_MODE:-1}"

ensure_venv
ensure_install ""
ensure_assets

say "crm init"
"$VENV/bin/crm" init
say "crm demo"
"$VENV/bin/crm" demo

say "starting the server (sign in as admin / demo1234; Ctrl-C stops)"
# click keeps the last value of an option given twice: "$@" may override host and port.
exec "$VENV/bin/crm" serve --host 127.0.0.1 --port 5000 "$@"
