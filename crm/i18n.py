"""Languages: flask-babel with zh_CN and en; locale from the user's setting, else
Accept-Language.  Template filters format dates, numbers and money (fen -> CNY) for the locale."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import current_app, g, has_request_context, request
from flask_babel import (Babel, format_currency, format_date, format_datetime, format_decimal,
                         get_timezone, get_translations)
from flask_babel import lazy_gettext as _l  # noqa: F401  (re-exported for forms)
from flask_babel.speaklater import LazyString
from flask_login import current_user
from markupsafe import Markup, escape


def _escaped(self) -> Markup:
    return escape(str(self))


# flask-babel's lazy strings declare themselves safe HTML (``__html__`` returns their text), so
# Jinja never escaped one: a lazy message with a value in it (a form error naming a customer,
# ``_l("%(name)s is already a member", name=...)``) rendered that value as markup.  A lazy
# string is escaped like any other string here; no message of ours is meant to carry HTML.
LazyString.__html__ = _escaped


def N_(message: str) -> str:
    """Mark a msgid for extraction without translating it now: a message stored in the
    database (a notification) is translated when it is shown, in the reader's language."""
    return message


def select_locale():
    if not has_request_context():      # a job, a command, a service called from a test
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and current_user.is_authenticated and current_user.locale:
        return current_user.locale
    languages = current_app.config["LANGUAGES"]
    chosen = request.args.get("lang") or request.cookies.get("locale")
    if chosen in languages:
        return chosen
    return request.accept_languages.best_match(languages, default=current_app.config[
        "BABEL_DEFAULT_LOCALE"])


def select_timezone():
    if current_user and current_user.is_authenticated and current_user.timezone:
        return current_user.timezone
    return None


def local_today() -> dt.date:
    """Today in the reader's time zone (their setting, else the business's): the day that
    "due today", "overdue" and a form's default date mean to them."""
    return dt.datetime.now(ZoneInfo(str(get_timezone()))).date()


def money(fen) -> str:
    """Integer fen to a localised CNY amount: 123456 -> ¥1,234.56."""
    if fen is None:
        return ""
    return format_currency(fen / 100, "CNY")


def _translations():
    """The request's translations, looked up once per request (flask-babel looks them up
    again on every call: ~15 us, i.e. 7 ms for the ~500 strings of a list page)."""
    if not has_request_context():      # a job (imports use force_locale there): no cache
        return get_translations()
    found = g.get("_crm_translations")
    if found is None:
        found = g._crm_translations = get_translations()
    return found


def init_app(app) -> None:
    Babel(app, locale_selector=select_locale, timezone_selector=select_timezone,
          default_translation_directories="translations")
    # templates' _() and ngettext(): the same translations, cached per request (the locale
    # never changes within a request: a new language applies from the redirect that follows)
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n))
    app.jinja_env.filters.update(
        money=money,
        date=lambda d, fmt="medium": format_date(d, fmt) if d else "",
        datetime=lambda d, fmt="short": format_datetime(d, fmt) if d else "",
        number=lambda n: format_decimal(n) if n is not None else "",
    )
