#!/usr/bin/env bash
# Gettext catalogues: extract -> update (or init) -> compile.  Safe to run again at any time:
#
#   scripts/i18n.sh            extract strings into crm/translations/messages.pot, merge them
#                              into the zh_Hans_CN (zh_CN) and en catalogues, compile the .mo files
#   scripts/i18n.sh extract    only (re)write messages.pot
#   scripts/i18n.sh update     extract + update the .po files, without compiling
#   scripts/i18n.sh compile    only compile the .po files to .mo
#
# New strings arrive in zh_Hans_CN/LC_MESSAGES/messages.po with an empty msgstr (or a "fuzzy" guess
# from a similar old string): translate them and remove the fuzzy flag; tests/i18n fails until
# you do.  The en catalogue may keep empty msgstrs: gettext then falls back to the English
# msgid, singular and plural alike.
#
# The Chinese catalogue's folder is zh_Hans_CN: flask-babel parses the locale "zh_CN" (what
# users, settings and Accept-Language say) with Babel, which names it zh_Hans_CN (CLDR adds the
# script), and looks for that folder (then "zh"), never for zh_CN.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

if [[ -z "${VIRTUAL_ENV:-}" && -x "$ROOT/.venv/bin/pybabel" ]]; then
    PYBABEL="$ROOT/.venv/bin/pybabel"
else
    PYBABEL="${PYBABEL:-pybabel}"
fi

TRANSLATIONS=crm/translations
POT="$TRANSLATIONS/messages.pot"
LOCALES=(zh_Hans_CN en)
STEP="${1:-all}"

extract() {
    mkdir -p "$TRANSLATIONS"
    # Input is ".", the mapping in babel.cfg picks crm/, plugins/ and templates/; hidden folders
    # (.venv, .git, .pytest_cache), virtualenvs, build output and tests/ are not even walked.
    # Keep these options in step with EXTRACT_OPTIONS in tests/i18n/test_catalogues.py.
    "$PYBABEL" extract -F babel.cfg \
        -k _l -k lazy_gettext -k lazy_ngettext:1,2 -k lazy_pgettext:1c,2 \
        --add-comments=TRANSLATORS: \
        --ignore-dirs=".* build dist node_modules instance venv tests" \
        --project=crm --version="$(python3 -c 'import configparser as c; p=c.ConfigParser(); p.read("setup.cfg"); print(p["metadata"]["version"])' 2>/dev/null || echo 0.1.0)" \
        --copyright-holder="CRM contributors" \
        --sort-by-file \
        -o "$POT" .
}

update() {
    for locale in "${LOCALES[@]}"; do
        if [[ -f "$TRANSLATIONS/$locale/LC_MESSAGES/messages.po" ]]; then
            "$PYBABEL" update -i "$POT" -d "$TRANSLATIONS" -l "$locale"
        else
            "$PYBABEL" init -i "$POT" -d "$TRANSLATIONS" -l "$locale"
        fi
    done
}

compile() {
    for locale in "${LOCALES[@]}"; do
        "$PYBABEL" compile -d "$TRANSLATIONS" -l "$locale" --statistics
    done
}

case "$STEP" in
    extract) extract ;;
    update) extract; update ;;
    compile) compile ;;
    all) extract; update; compile ;;
    *) echo "usage: $0 [all|extract|update|compile]" >&2; exit 2 ;;
esac
