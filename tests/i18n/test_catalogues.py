"""The gettext catalogues: zh_CN complete and faithful to its placeholders, in step with the
strings in the code and templates, and actually used by the app (zh_CN and en, plurals too).

The .mo files are gitignored and built at install time; the ``compiled_catalogues`` fixture
compiles them here when they are missing or older than their .po file.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

import crm

REPO = Path(__file__).resolve().parents[2]
TRANSLATIONS = Path(crm.PACKAGE_DIR) / "translations"
ZH_PO = TRANSLATIONS / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
EN_PO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"

# Same extraction options as scripts/i18n.sh (keep both in step).
EXTRACT_OPTIONS = [
    "-F", "babel.cfg",
    "-k", "_l", "-k", "lazy_gettext", "-k", "lazy_ngettext:1,2", "-k", "lazy_pgettext:1c,2",
    "--ignore-dirs=.* build dist node_modules instance venv tests",
]

# printf-style placeholders: %(name)s, %(n)d, %(x).2f ... and "%%" (a literal percent sign).
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa%]")


def _read(path: Path):
    with open(path, "rb") as handle:
        return read_po(handle)


def _placeholders(text: str) -> set[str]:
    return {p for p in PLACEHOLDER.findall(text or "") if p != "%%"}


def _strings(value) -> tuple:
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


def _key(message):
    return (message.context, message.id if isinstance(message.id, str) else tuple(message.id))


def _label(message) -> str:
    where = ", ".join(f"{f}:{n}" for f, n in message.locations[:3])
    return f"{message.id!r} ({where})" if where else repr(message.id)


@pytest.fixture(scope="session")
def compiled_catalogues():
    """Compile every catalogue whose .mo is missing or older than its .po."""
    stale = []
    for po in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            stale.append(po)
    if stale:
        CommandLineInterface().run(["pybabel", "-q", "compile", "-d", str(TRANSLATIONS)])
    for po in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        assert po.with_suffix(".mo").exists(), f"{po} was not compiled"
    return TRANSLATIONS


# -- (a) the zh_CN catalogue is complete ----------------------------------------------------------

def test_zh_cn_catalogue_has_one_plural_form():
    catalog = _read(ZH_PO)
    assert catalog.num_plurals == 1
    assert catalog.plural_expr == "0"


def test_zh_cn_has_no_untranslated_or_fuzzy_entry():
    catalog = _read(ZH_PO)
    untranslated, fuzzy = [], []
    for message in catalog:
        if not message.id:
            continue
        if message.fuzzy:
            fuzzy.append(_label(message))
        strings = _strings(message.string)
        if not strings or not all(s and s.strip() for s in strings):
            untranslated.append(_label(message))
    assert not fuzzy, "fuzzy entries in zh_CN (review, then remove the flag):\n" + \
        "\n".join(fuzzy)
    assert not untranslated, "untranslated entries in zh_CN:\n" + "\n".join(untranslated)


def test_zh_cn_keeps_the_placeholders():
    catalog = _read(ZH_PO)
    wrong = []
    for message in catalog:
        if not message.id:
            continue
        expected = set().union(*(_placeholders(i) for i in _strings(message.id)))
        for index, string in enumerate(_strings(message.string)):
            found = _placeholders(string)
            if found != expected:
                wrong.append(f"{_label(message)} msgstr[{index}]: {sorted(found)} != "
                             f"{sorted(expected)}")
    assert not wrong, "placeholders differ:\n" + "\n".join(wrong)


def test_catalogues_pass_babels_own_checks():
    for path in (ZH_PO, EN_PO):
        catalog = _read(path)
        problems = [f"{path.parent.parent.name}: {_label(m)}: {e}"
                    for m, errors in catalog.check() for e in errors]
        assert not problems, "\n".join(problems)


# -- (b) nothing in the code or templates is missing from the catalogue ---------------------------

def test_fresh_extraction_is_translated(tmp_path):
    if not (REPO / "babel.cfg").exists():
        pytest.skip("not a checkout: no babel.cfg")
    pot = tmp_path / "messages.pot"
    result = subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "-q", "extract", *EXTRACT_OPTIONS,
         "-o", str(pot), "."],
        cwd=REPO, capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert result.returncode == 0, result.stderr
    extracted = _read(pot)
    assert len([m for m in extracted if m.id]) > 100, "the extraction found almost nothing"
    zh = _read(ZH_PO)
    known = {_key(m) for m in zh if m.id}
    missing = [_label(m) for m in extracted if m.id and _key(m) not in known]
    assert not missing, ("strings not in crm/translations/zh_CN (run scripts/i18n.sh and "
                         "translate them):\n" + "\n".join(missing))


# -- (c) the app uses the catalogues ----------------------------------------------------------------

def test_babel_finds_the_zh_cn_catalogue(compiled_catalogues):
    """Babel parses "zh_CN" as zh_Hans_CN and flask-babel looks for that folder (then "zh"):
    the catalogue lives in crm/translations/zh_Hans_CN."""
    from babel import Locale
    from babel.support import Translations
    locale = Locale.parse("zh_CN")
    translations = Translations.load(str(compiled_catalogues), [locale])
    assert translations.gettext("Sign in") == "登录", \
        f"no catalogue found for {locale} in {compiled_catalogues}"

def test_login_page_in_chinese(compiled_catalogues, client):
    response = client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "登录" in page
    assert "用户名" in page and "密码" in page          # lazy form labels
    assert "Sign in" not in page and "Username" not in page


def test_login_page_in_english(compiled_catalogues, client):
    response = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Sign in" in page and "Username" in page
    assert "登录" not in page


def test_default_locale_is_chinese(compiled_catalogues, app):
    """Without Accept-Language the app's default applies (zh_CN in production config)."""
    app.config["BABEL_DEFAULT_LOCALE"] = "zh_CN"
    page = app.test_client().get("/login").get_data(as_text=True)
    assert "登录" in page


def test_plurals(compiled_catalogues, app):
    from flask_babel import ngettext
    cases = {"zh-CN": ("共 1 个客户", "共 5 个客户"), "en": ("1 customer", "5 customers")}
    for language, (one, many) in cases.items():
        with app.test_request_context("/", headers={"Accept-Language": language}):
            assert ngettext("%(num)s customer", "%(num)s customers", 1) == one
            assert ngettext("%(num)s customer", "%(num)s customers", 5) == many


def test_plural_in_a_template(compiled_catalogues, login):
    client = login("admin")
    english = client.get("/admin/departments", headers={"Accept-Language": "en"})
    assert english.status_code == 200
    text = english.get_data(as_text=True)
    assert "(1 user)" in text and "(2 users)" in text
    chinese = client.get("/admin/departments", headers={"Accept-Language": "zh-CN"})
    text = chinese.get_data(as_text=True)
    assert "(1 人)" in text and "(2 人)" in text and "部门" in text
