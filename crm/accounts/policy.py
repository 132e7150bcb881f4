"""The password policy: applied whenever a person chooses a password (the admin's user form,
``crm user create``, the change-password forms).

A password must have at least ``PASSWORD_MIN_LENGTH`` characters (10 by default), must not be
only digits, must not contain the username, and must not be one of the passwords every
guessing list starts with.  Messages are in the user's language inside a request and in
English on the command line.
"""
from __future__ import annotations

from flask import current_app, has_app_context, has_request_context
from flask_babel import gettext

DEFAULT_MIN_LENGTH = 10

# The head of the public leak lists (global and Chinese) at 10+ characters, and the words those
# lists decorate with digits ("password2024", "woaini1314!").  Small on purpose: the length rule
# does most of the work; this catches what a guesser tries first.
COMMON = frozenset("""
1q2w3e4r5t 1qaz2wsx3edc 1qazxsw23edc 1q2w3e4r5t6y 2wsx3edc4rfv a123456789 a1234567890
aa123456789 abc1234567 abc123456789 abcd123456 abcd1234567 abcdefghij abcdefghijk
asdfghjkl asdfghjkl1 asdfghjkl123 iloveyou123 iloveyou1314 letmein123 password password1
password12 password123 password1234 password2024 password2025 password2026 passw0rd123
p@ssw0rd123 qazwsxedc qazwsxedcrfv qq123456789 qwer123456 qwerty12345 qwerty123456
qwertyuiop qwertyuiop1 qwertyuiop123 qwe123456789 welcome123 welcome1234 woaini1314
woaini5201314 woaini520 zxcvbnm123 zxcvbnm1234 1234qwer5678 admin12345 admin123456
administrator changeme123 test123456 demo123456 root123456 caonima123 aaaaaaaaaa
""".split())
COMMON_WORDS = frozenset("""
password passw0rd p@ssw0rd p@ssword qwerty qwertyuiop asdfghjkl zxcvbnm iloveyou woaini
woaiwojia letmein welcome admin administrator changeme test demo abc abcd abcdef root
monkey dragon sunshine princess football baseball superman master shadow qazwsx wangyang
zhangwei
""".split())
_DECORATION = "0123456789!@#$%^&*._-+=?~ "


def _(message: str, **params) -> str:
    """gettext in a request (the user's language), else the English message (the CLI)."""
    if has_request_context():
        return gettext(message, **params)
    return message % params if params else message


def min_length() -> int:
    if has_app_context():
        return int(current_app.config.get("PASSWORD_MIN_LENGTH", DEFAULT_MIN_LENGTH))
    return DEFAULT_MIN_LENGTH


def is_common(password: str) -> bool:
    folded = password.casefold()
    if folded in COMMON:
        return True
    core = folded.strip(_DECORATION)
    return not core or core in COMMON_WORDS or len(set(folded)) <= 2


def hint() -> str:
    """The rules in one sentence, for the hint under a new-password field."""
    return _("At least %(num)s characters, not only digits, not the username, not a common "
             "password.", num=min_length())


def problems(password: str, username: str = "") -> list[str]:
    """Why ``password`` is refused, one message per broken rule (empty: it is fine)."""
    out = []
    length = min_length()
    if len(password) < length:
        out.append(_("The password must have at least %(num)s characters.", num=length))
    if password.isdigit():
        out.append(_("The password must not be only digits."))
    name = (username or "").strip().casefold()
    if name and len(name) >= 3 and name in password.casefold():
        out.append(_("The password must not contain the username."))
    elif password and not password.isdigit() and is_common(password):
        out.append(_("This password is too common. Choose one that is harder to guess."))
    return out
