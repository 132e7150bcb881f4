"""In-app notifications: a list per user with an unread count in the page header.

The public API for the core and plugins is ``crm.notifications.notify`` (services.py); the
message is a gettext msgid marked with ``crm.i18n.N_`` and translated when it is shown, in the
reader's language, with its parameters.
"""
from crm.notifications.services import notify, notify_role  # noqa: F401
