"""A row's text cells into the values the services take, with the same checks as the forms:
``crm.validation`` for phones, e-mails and company names, the forms' choices and lengths, a
name required to create, owners who may own customers.  A bad cell is a message for the row,
never an exception.

Choice fields accept the stored value (``company``, ``A``, ``referral``) and its label in every
language (``企业``, ``A（重点）``, ``转介绍``), so a file exported in Chinese or English comes
back; yes/no columns accept Y/N, 是/否, yes/no, true/false, 1/0, ✓/×.
"""
from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from typing import Any
from zoneinfo import ZoneInfo

from crm.i18n import _l
from crm.imports.parsing import looks_like_formula, unquote

TRUE_WORDS = {"y", "yes", "true", "1", "是", "对", "同意", "✓", "√", "x", "on"}
FALSE_WORDS = {"n", "no", "false", "0", "否", "不", "不同意", "×", "✗", "off"}

DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日", "%d.%m.%Y")
TIME_FORMATS = ("%H:%M", "%H:%M:%S", "%H:%M:%S.%f")


class CellError(ValueError):
    """A cell's value is not acceptable; ``args[0]`` is the message."""


def norm(text: str) -> str:
    """For comparing words: NFKC, case-folded, without spaces."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or "").casefold())


def normalise_name(name: str) -> str:
    """The exact-name key: NFKC (full-width letters and brackets), case-folded, inner spaces
    collapsed.  “杭州华信科技（有限）公司” and "杭州华信科技(有限)公司" are the same name."""
    text = unicodedata.normalize("NFKC", name or "").casefold()
    return re.sub(r"\s+", " ", text).strip()


def choice_table(choices: dict[str, Any], extra: dict[str, str] | None = None) -> dict[str, str]:
    """{normalised key or label in every language: stored value}."""
    from flask import current_app
    from flask_babel import force_locale
    table: dict[str, str] = {}
    for key in choices:
        if key:
            table[norm(key)] = key
            table[key] = key
    for locale in current_app.config.get("LANGUAGES") or ["zh_CN", "en"]:
        with force_locale(locale):
            for key, label in choices.items():
                if key and label:
                    table.setdefault(norm(str(label)), key)
    for word, key in (extra or {}).items():
        table.setdefault(norm(word), key)
    for locale in current_app.config.get("LANGUAGES") or ["zh_CN", "en"]:
        with force_locale(locale):
            for key, label in choices.items():
                if key and label:
                    table.setdefault(str(label), key)
    return table


# -- phones and e-mails: crm.validation, with fast paths for the common shapes ------------------
#
# crm.validation's normalise_phone (phonenumbers) and normalise_email (email-validator) take
# 0.1-0.3 ms a value: a third of a 100,000-row import.  The two fast paths below give exactly
# their result for the shapes most rows have, and hand everything else to them:
# * an 11-digit Chinese mobile number (spaces, hyphens, +86 allowed) that matches
#   phonenumbers' own metadata pattern for Chinese mobiles is valid, and its E.164 is +86 and
#   the digits (what is_valid_number and format_number compute from the same metadata);
# * an e-mail with a plain ASCII local part: email-validator leaves that part as it is, so
#   only the domain needs checking and normalising, once per distinct domain.

_PHONE_NOISE = re.compile(r"[\s\-()]")
_LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


def _cn_mobile_pattern():
    import phonenumbers
    metadata = phonenumbers.PhoneMetadata.metadata_for_region("CN")
    return re.compile(metadata.mobile.national_number_pattern)


_CN_MOBILE = None


def phone(value: str, region: str = "CN") -> str:
    """``crm.validation.normalise_phone``, faster for Chinese mobile numbers."""
    from crm.validation import normalise_phone
    global _CN_MOBILE
    if region == "CN":
        digits = _PHONE_NOISE.sub("", unicodedata.normalize("NFKC", value))
        if digits.startswith("+86"):
            digits = digits[3:]
        if len(digits) == 11 and digits[0] == "1" and digits.isascii() and digits.isdigit():
            if _CN_MOBILE is None:
                _CN_MOBILE = _cn_mobile_pattern()
            if _CN_MOBILE.fullmatch(digits):
                return "+86" + digits
    try:
        return normalise_phone(value, region)
    except ValueError as exc:
        raise CellError(exc.args[0]) from None


@functools.lru_cache(maxsize=4096)
def _domain(domain: str) -> str:
    from crm.validation import normalise_email
    return normalise_email("x@" + domain).split("@", 1)[1]


def email(value: str) -> str:
    """``crm.validation.normalise_email``, faster for plain addresses."""
    from crm.validation import normalise_email
    value = value.strip()
    local, at, domain = value.rpartition("@")
    try:
        if at and local.isascii() and len(local) <= 64 and len(value) <= 254 \
                and _LOCAL_PART.fullmatch(local) and domain:
            return local + "@" + _domain(domain)
        return normalise_email(value)
    except ValueError as exc:
        raise CellError(exc.args[0]) from None


def text(value: str, max_length: int) -> str:
    if len(value) > max_length:
        raise CellError(_l("Too long (at most %(n)s characters).", n=max_length))
    return value


def choose(value: str, table: dict[str, str]) -> str:
    key = table.get(value)                 # the stored value or a label as it is: most cells
    if key is None:
        key = table.get(norm(value))
    if key is None:
        raise CellError(_l("“%(value)s” is not one of the choices.", value=value[:50]))
    return key


def boolean(value: str) -> bool:
    word = norm(value)
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise CellError(_l("Write Y or N (是 or 否)."))


def date(value: str) -> dt.date:
    value = unicodedata.normalize("NFKC", value).strip()
    head = value.split(" ", 1)[0].split("T", 1)[0]
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(head, fmt).date()
        except ValueError:
            continue
    raise CellError(_l("Not a date: write it as 2024-03-15."))


def datetime(value: str, tz: ZoneInfo | None) -> dt.datetime:
    """A date with an optional time, in ``tz`` (None: already UTC), as naive UTC."""
    value = unicodedata.normalize("NFKC", value).strip().replace("T", " ")
    day_part, _sep, time_part = value.partition(" ")
    day = date(day_part)
    moment = dt.time(0, 0)
    if time_part.strip():
        for fmt in TIME_FORMATS:
            try:
                moment = dt.datetime.strptime(time_part.strip(), fmt).time()
                break
            except ValueError:
                continue
        else:
            raise CellError(_l("Not a time: write it as 2024-03-15 14:30."))
    result = dt.datetime.combine(day, moment)
    if tz is not None:
        result = result.replace(tzinfo=tz).astimezone(dt.timezone.utc).replace(tzinfo=None)
    return result


def integer(value: str, minimum: int = 1, maximum: int = 1_000_000) -> int:
    try:
        number = int(float(unicodedata.normalize("NFKC", value).replace(",", "")))
    except ValueError:
        raise CellError(_l("Not a whole number.")) from None
    if not minimum <= number <= maximum:
        raise CellError(_l("Must be between %(low)s and %(high)s.", low=minimum, high=maximum))
    return number


def cells(raw_cells: list[str], mapping: dict[int, str]) -> tuple[dict[str, str], list[str]]:
    """{field: text} of the mapped, non-empty cells, stripped (and without the apostrophe the
    export put before a formula-like cell), and the fields whose cell looks like a formula:
    their text is never kept."""
    values: dict[str, str] = {}
    formulas: list[str] = []
    width = len(raw_cells)
    for index, field in mapping.items():
        if index >= width or not field:
            continue
        value = raw_cells[index]
        if not value:
            continue
        value = value.strip()
        if value and value[0] in "'=+-@":
            value = unquote(value).strip()
            if looks_like_formula(value):
                formulas.append(field)
                continue
        if value:
            values[field] = value
    return values, formulas


class Owners:
    """Owners by user name or display name (case-insensitive): users who may own customers
    (active admins, managers and reps); a rep may give customers only to themselves, as in
    the form."""

    def __init__(self, user):
        from crm.accounts.models import User
        query = User.select(User.id, User.username, User.display_name).where(
            User.is_active == True, User.role.in_(("admin", "manager", "sales")))  # noqa: E712
        if user.role == "sales":
            query = query.where(User.id == user.id)
        self.by_username: dict[str, int] = {}
        self.by_name: dict[str, set] = {}
        self.names: dict[int, str] = {}
        self.memo: dict[str, int] = {}
        for uid, username, display in query.tuples():
            self.by_username[norm(username)] = uid
            self.names[uid] = display or username
            if display:
                self.by_name.setdefault(norm(display), set()).add(uid)

    def find(self, value: str) -> int:
        if value in self.memo:
            return self.memo[value]
        key = norm(value)
        if key in self.by_username:
            self.memo[value] = self.by_username[key]
            return self.by_username[key]
        found = self.by_name.get(key, set())
        if len(found) == 1:
            self.memo[value] = next(iter(found))
            return self.memo[value]
        if len(found) > 1:
            raise CellError(_l("Several users are called “%(name)s”: use the user name.",
                               name=value[:50]))
        raise CellError(_l("No user “%(name)s” to whom you may give customers.",
                           name=value[:50]))


class Users:
    """Any active user, by user name or display name (who logged an activity, sold)."""

    def __init__(self):
        from crm.accounts.models import User
        self.by_username, self.by_name = {}, {}
        for uid, username, display in User.select(User.id, User.username, User.display_name) \
                .where(User.is_active == True).tuples():  # noqa: E712
            self.by_username[norm(username)] = uid
            if display:
                self.by_name.setdefault(norm(display), set()).add(uid)

    def find(self, value: str) -> int:
        key = norm(value)
        if key in self.by_username:
            return self.by_username[key]
        found = self.by_name.get(key, set())
        if len(found) == 1:
            return next(iter(found))
        raise CellError(_l("No user “%(name)s”.", name=value[:50]))
