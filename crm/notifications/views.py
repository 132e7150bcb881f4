"""The notification list, opening one (marks it read, goes to its link), marking all read, and
the header's badge: a tiny fragment polled by htmx with an ETag, so that a poll that finds
nothing new is a 304 of a few hundred bytes."""
from __future__ import annotations

import hashlib

from flask import Blueprint, abort, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm.notifications import services
from crm.web.htmx import render, safe_next, see_other, wants_partial

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


@bp.before_request
@login_required
def _signed_in():
    pass


@bp.route("")
def index():
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    unread_only = request.args.get("unread") == "1"
    rows, more = services.latest(current_user, page, unread_only)
    return render("notifications/index.html", {"*": "notifications/_list.html"}, rows=rows,
                  more=more, page=page, unread_only=unread_only)


@bp.route("/<int:notification_id>/open", methods=["POST"])
def open_one(notification_id: int):
    notification = services.get_own(current_user, notification_id)
    if notification is None:
        abort(404)
    services.mark_read(current_user, notification.id)
    return see_other(safe_next(notification.url, url_for("notifications.index")))


@bp.route("/read", methods=["POST"])
def read_all():
    services.mark_read(current_user)
    return see_other(url_for("notifications.index"))


@bp.route("/badge")
def badge():
    """The header's link with the unread count; 304 when it has not changed.  Only htmx
    polls it: anybody else is sent to the list."""
    if not wants_partial():
        return see_other(url_for("notifications.index"))
    count, newest = services.badge_state(current_user)
    response = render("notifications/_badge.html", unread=count)
    response.set_etag(hashlib.blake2s(f"{current_user.id}:{count}:{newest}:{_('Notifications')}"
                                      .encode(), digest_size=8).hexdigest())
    response.headers["Cache-Control"] = "private, no-cache"
    return response.make_conditional(request)
