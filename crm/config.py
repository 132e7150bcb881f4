"""Settings: defaults < instance/config.py < CRM_* environment variables < create_app(config).

Every setting is an upper-case key of ``app.config``.  An environment variable ``CRM_FOO``
sets ``FOO``; lists are comma-separated, booleans are 1/0/true/false/yes/no.
"""
from __future__ import annotations

import os
import secrets

DEFAULTS: dict = {
    "DATABASE_URL": None,          # None: SQLite file crm.db in the instance folder
    "DATABASE_POOL": None,         # None: a connection pool for PostgreSQL, none for SQLite
    "REDIS_URL": None,             # set to use Redis for background jobs instead of SQLite
    "PLUGINS": None,               # None: load entry points of group "crm.plugins"; tests pass a list
    "DISABLED_PLUGINS": [],
    "BABEL_DEFAULT_LOCALE": "zh_CN",
    "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
    "LANGUAGES": ["zh_CN", "en"],
    "CUSTOMER_NUMBER_PATTERN": "C{year:04d}{month:02d}{seq:04d}",
    "PAGE_SIZE": 25,
    "FOLLOWUP_STALE_DAYS": 7,
    # -- reminders (crm/tasks/rules.py), a daily job at REMINDERS_AT (UTC; 00:15 is 08:15 in China)
    "REMINDER_NO_CONTACT_DAYS": 30,    # a customer not contacted this long reminds its owner; 0: off
    "REMINDER_NO_CONTACT_MAX": 20,     # at most this many new reminder tasks per owner and day
    "REMINDERS_AT": "00:15",
    "DEMO_MODE": False,            # a public demo: demo accounts keep their known passwords
    "JOBS_IMMEDIATE": False,       # run background jobs inline (tests)
    "OUTBOX_MAX_ATTEMPTS": 8,
    "PHONE_REGION": "CN",
    "BACKUP_DIR": None,            # None: <instance>/backups
    "BACKUP_KEEP": 14,             # backup files kept
    "BACKUP_SCHEDULE": "daily",    # or "off"
    "BACKUP_AT": "19:30",          # UTC (huey's crontab): 03:30 in China
    # -- sign-in and sessions (docs/security.md) --
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SECURE": False,   # Secure anyway whenever the request is HTTPS (see below)
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,  # flask-login's remember-me cookie (the CRM issues none)
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_SECURE": False,   # Secure anyway over HTTPS, like every cookie
    "SESSION_IDLE_MINUTES": 120,       # signed out after this long without a request
    "SESSION_MAX_HOURS": 12,           # and this long after signing in, whatever happens
    "LOGIN_THROTTLE_MINUTES": 15,      # the window failed sign-ins are counted in
    "LOGIN_MAX_FAILURES_PER_ACCOUNT": 5,
    "LOGIN_MAX_FAILURES_PER_ADDRESS": 20,
    "PASSWORD_MIN_LENGTH": 10,
    "TRUSTED_PROXIES": 0,              # reverse proxies in front whose X-Forwarded-* to trust
    "HSTS_SECONDS": 365 * 24 * 3600,   # Strict-Transport-Security over HTTPS; 0: none
    "HSTS_INCLUDE_SUBDOMAINS": False,
    "WTF_CSRF_TIME_LIMIT": 8 * 3600,
    "WTF_CSRF_HEADERS": ["X-CSRFToken"],
    "COMPRESS_MIMETYPES": ["text/html", "text/css", "application/javascript",
                           "image/svg+xml", "application/json", "text/csv"],
    "COMPRESS_ALGORITHM": ["br", "gzip"],
    "COMPRESS_MIN_SIZE": 300,
}

_LISTS = {"DISABLED_PLUGINS", "PLUGINS", "LANGUAGES", "COMPRESS_ALGORITHM", "WTF_CSRF_HEADERS"}
_BOOL_WORDS = {"1": True, "true": True, "yes": True, "on": True,
               "0": False, "false": False, "no": False, "off": False}


def _coerce(key: str, raw: str, current):
    if key in _LISTS:
        return [part.strip() for part in raw.split(",") if part.strip()]
    if isinstance(current, bool):
        if raw.lower() not in _BOOL_WORDS:
            raise ValueError(f"CRM_{key}: expected a boolean, got {raw!r}")
        return _BOOL_WORDS[raw.lower()]
    if isinstance(current, int):
        return int(raw)
    return raw


def load(app, overrides: dict | None = None) -> None:
    """Fill ``app.config`` in the documented order of precedence."""
    app.config.from_mapping(DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    for name, raw in os.environ.items():
        if name.startswith("CRM_") and len(name) > 4:
            key = name[4:]
            app.config[key] = _coerce(key, raw, app.config.get(key))
    if overrides:
        app.config.update(overrides)
    if not app.config.get("DATABASE_URL"):
        app.config["DATABASE_URL"] = "sqlite:///" + os.path.join(app.instance_path, "crm.db")
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(app.instance_path)


def _instance_secret(instance_path: str) -> str:
    """The secret key, generated into the instance folder on first start (never committed)."""
    path = os.path.join(instance_path, "secret_key")
    if os.path.exists(path):
        with open(path, encoding="ascii") as fh:
            return fh.read().strip()
    os.makedirs(instance_path, exist_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key)
    return key
