#!/usr/bin/env bash
# The whole test suite, as CI runs it:
#
#   scripts/test.sh                 install what is missing, then run every test twice:
#                                   1. on SQLite: on two pytest-xdist workers, then the browser
#                                      tests (tests/e2e) alone
#                                   2. on PostgreSQL (CRM_TEST_DATABASE_URL), two workers, browser
#                                      tests excluded
#   scripts/test.sh -k search       extra arguments go to both pytest runs (one plain run each)
#   TEST_WORKERS=0 scripts/test.sh  no xdist workers (one process, as a debugger wants)
#   SKIP_POSTGRES=1 scripts/test.sh SQLite only (a quick local run; CI never sets it)
#
# What it installs when missing: .venv with `pip install -e .[test]`, Debian's chromium (apt-get;
# Playwright drives it, `playwright install` is never used), a CJK font for legible screenshots,
# htmx (from its npm package) and the compiled translations.  It starts PostgreSQL and Redis when
# they are installed but not running.  Exits non-zero when anything fails.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

START=$SECONDS
PYTEST_ARGS=("$@")
TIMEOUT="${PYTEST_TIMEOUT:-300}"   # seconds per test (pytest-timeout): a hung browser never stalls CI

as_root() {
    if [[ "$(id -u)" == 0 ]]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"
    else die "need root (or sudo) for: $*"
    fi
}

APT_UPDATED=0
apt_install() {
    if [[ "$APT_UPDATED" == 0 ]]; then
        say "apt-get update"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        APT_UPDATED=1
    fi
    say "apt-get install $*"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

ensure_browser() {
    if [[ ! -x /usr/bin/chromium ]]; then
        apt_install chromium
    fi
    # Chinese text in screenshots needs a CJK font (pages use system fonts only: no web fonts).
    if ! command -v fc-list >/dev/null 2>&1 || [[ -z "$(fc-list :lang=zh 2>/dev/null)" ]]; then
        apt_install fontconfig fonts-wqy-microhei
    fi
    say "$(/usr/bin/chromium --version 2>/dev/null || echo 'chromium: version unknown')"
}

ensure_redis() {
    # tests/jobs exercise the Redis queue when Redis answers on 127.0.0.1:6379.
    if "$PY" -c 'import socket; socket.create_connection(("127.0.0.1", 6379), 1).close()' 2>/dev/null; then
        return 0
    fi
    if command -v redis-server >/dev/null 2>&1; then
        say "starting redis-server"
        redis-server --daemonize yes --save "" --appendonly no --bind 127.0.0.1 >/dev/null
        sleep 1
    else
        say "warning: no Redis on 127.0.0.1:6379: the Redis queue test will be skipped"
    fi
}

pg_ready() {
    if command -v pg_isready >/dev/null 2>&1; then
        pg_isready -q -h 127.0.0.1 -p 5432
    else
        "$PY" -c 'import socket; socket.create_connection(("127.0.0.1", 5432), 1).close()' 2>/dev/null
    fi
}

pg_try() {   # pg_try URL: can we connect and create a schema there?
    "$PY" - "$1" <<'PYEOF' 2>/dev/null
import sys
import psycopg2
conn = psycopg2.connect(sys.argv[1], connect_timeout=5)
conn.cursor().execute("SELECT 1")
conn.close()
PYEOF
}

ensure_postgres() {
    if ! pg_ready; then
        command -v pg_ctlcluster >/dev/null 2>&1 || die "PostgreSQL is not running on 127.0.0.1:5432 and is not installed"
        local version
        version="$(ls /etc/postgresql | sort -V | tail -n 1)"
        say "starting PostgreSQL $version"
        as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
        for _ in $(seq 1 30); do pg_ready && break; sleep 1; done
        pg_ready || die "PostgreSQL did not start"
    fi
    if [[ -n "${CRM_TEST_DATABASE_URL:-}" ]]; then
        pg_try "$CRM_TEST_DATABASE_URL" || die "cannot connect to CRM_TEST_DATABASE_URL=$CRM_TEST_DATABASE_URL"
        PG_URL="$CRM_TEST_DATABASE_URL"
        return 0
    fi
    local user
    for user in postgres root "$(id -un)"; do
        if pg_try "postgresql://$user@127.0.0.1:5432/test"; then
            PG_URL="postgresql://$user@127.0.0.1:5432/test"
            return 0
        fi
    done
    die "no PostgreSQL user connects to database 'test' on 127.0.0.1:5432 with trust auth (tried postgres, root)"
}

ensure_venv
ensure_install test
ensure_browser
ensure_assets
ensure_redis
PG_URL=""
if [[ "${SKIP_POSTGRES:-0}" != 1 ]]; then
    ensure_postgres
fi
mkdir -p "$ROOT/test-artifacts"
rm -f "$ROOT"/test-artifacts/junit-*.xml
say "ready in $((SECONDS - START)) s"

# CRM_* variables of the caller's shell would leak into the apps under test: keep them out.
for name in $(compgen -e); do
    if [[ "$name" == CRM_* ]]; then unset "$name"; fi
done

rc_sqlite=0
rc_postgres=0

# Two workers (pytest-xdist, --dist loadgroup: a file stays on one worker, see tests/conftest.py)
# for most tests; tests/security in one process of its own (its generated tests share one world
# of data across modules in order, and its last module checks what the others exercised); the
# browser tests (tests/e2e) alone at the end: they time pages on a throttled CPU.
# With arguments (scripts/test.sh -k search), one plain run per database, as before.
PARALLEL=(-n "${TEST_WORKERS:-2}" --dist loadgroup)
if ! "$PY" -c 'import xdist' 2>/dev/null || [[ "${TEST_WORKERS:-2}" == 0 ]]; then PARALLEL=(); fi
COMMON=(--timeout="$TIMEOUT" -o junit_family=xunit2)

T0=$SECONDS
if [[ ${#PYTEST_ARGS[@]} -gt 0 ]]; then
    say "test suite on SQLite, browser tests included (arguments: ${PYTEST_ARGS[*]})"
    "$PY" -m pytest "${COMMON[@]}" --junitxml="$ROOT/test-artifacts/junit-sqlite.xml" \
        "${PYTEST_ARGS[@]}" || rc_sqlite=$?
else
    say "test suite on SQLite without the browser and security tests (xdist: ${PARALLEL[*]:-none})"
    "$PY" -m pytest "${COMMON[@]}" "${PARALLEL[@]}" --ignore=tests/e2e --ignore=tests/security \
        --junitxml="$ROOT/test-artifacts/junit-sqlite.xml" || rc_sqlite=$?
    say "generated security tests (tests/security) on SQLite, in one process"
    "$PY" -m pytest "${COMMON[@]}" --junitxml="$ROOT/test-artifacts/junit-sqlite-security.xml" \
        tests/security || rc_sqlite=$?
    say "browser tests (tests/e2e) on SQLite"
    "$PY" -m pytest "${COMMON[@]}" --junitxml="$ROOT/test-artifacts/junit-e2e.xml" \
        tests/e2e || rc_sqlite=$?
fi
T_SQLITE=$((SECONDS - T0))

if [[ -n "$PG_URL" ]]; then
    say "test suite on PostgreSQL ($PG_URL), browser tests excluded"
    T0=$SECONDS
    if [[ ${#PYTEST_ARGS[@]} -gt 0 ]]; then
        CRM_TEST_DATABASE_URL="$PG_URL" "$PY" -m pytest "${COMMON[@]}" \
            --junitxml="$ROOT/test-artifacts/junit-postgres.xml" --ignore=tests/e2e \
            "${PYTEST_ARGS[@]}" || rc_postgres=$?
    else
        CRM_TEST_DATABASE_URL="$PG_URL" "$PY" -m pytest "${COMMON[@]}" "${PARALLEL[@]}" \
            --junitxml="$ROOT/test-artifacts/junit-postgres.xml" --ignore=tests/e2e \
            --ignore=tests/security || rc_postgres=$?
        CRM_TEST_DATABASE_URL="$PG_URL" "$PY" -m pytest "${COMMON[@]}" \
            --junitxml="$ROOT/test-artifacts/junit-postgres-security.xml" tests/security \
            || rc_postgres=$?
    fi
    T_POSTGRES=$((SECONDS - T0))
fi

if [[ "$rc_sqlite" != 0 || "$rc_postgres" != 0 ]]; then say "FAILED"; else say "all green"; fi
say "SQLite run: exit $rc_sqlite in ${T_SQLITE} s"
if [[ -n "$PG_URL" ]]; then
    say "PostgreSQL run: exit $rc_postgres in ${T_POSTGRES} s"
else
    say "PostgreSQL run: skipped (SKIP_POSTGRES=1)"
fi
say "total $((SECONDS - START)) s"
# Both runs added up, as the last line: "tests: N passed, N failed, N skipped" (xfail counts as
# skipped, as in JUnit XML).
"$PY" - "$ROOT"/test-artifacts/junit-*.xml <<'PYEOF' || true
import sys
import xml.etree.ElementTree as ET
passed = failed = skipped = 0
for path in sys.argv[1:]:
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        continue
    for suite in ([root] if root.tag == "testsuite" else root.iter("testsuite")):
        tests, errors = int(suite.get("tests", 0)), int(suite.get("errors", 0))
        failures, skips = int(suite.get("failures", 0)), int(suite.get("skipped", 0))
        passed += tests - errors - failures - skips
        failed += errors + failures
        skipped += skips
print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
PYEOF
if [[ "$rc_sqlite" != 0 || "$rc_postgres" != 0 ]]; then
    exit 1
fi
