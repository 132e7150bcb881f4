"""``/admin/backups``: the backups taken, whether each was verified, and "back up now"."""
from __future__ import annotations

from flask import Blueprint, current_app, flash
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm import access
from crm.audit import services as audit
from crm.backups import services
from crm.web.htmx import render, see_other

bp = Blueprint("backups", __name__, url_prefix="/admin/backups")


@bp.before_request
@login_required
def _admins_only():
    access.require(current_user, "backup.manage")


@bp.route("")
def index():
    return render("backups/index.html", entries=services.history(current_app)[:60],
                  folder=services.backup_dir(current_app),
                  keep=current_app.config.get("BACKUP_KEEP"))


@bp.route("", methods=["POST"])
def create():
    outcome = services.take(current_app)
    audit.record("backup", current_user, "backup", None, [("file", "", outcome.file)])
    if outcome.verified:
        flash(_("Backup %(file)s taken and verified.", file=outcome.file), "success")
    else:
        flash(_("The backup failed or could not be verified: %(problems)s",
                problems="; ".join(outcome.problems)), "error")
    return see_other("/admin/backups")
