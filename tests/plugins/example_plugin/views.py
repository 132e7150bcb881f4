"""The example plugin's blueprint: a page of notes (its nav item) and the customer actions."""
from __future__ import annotations

from flask import Blueprint, flash, url_for
from flask_login import current_user, login_required

from crm import access
from crm.web.htmx import render, see_other

from . import services

bp = Blueprint("example", __name__, url_prefix="/example", template_folder="templates")


@bp.before_request
@login_required
def _signed_in():
    access.require(current_user, "example.notes")


@bp.route("/notes")
def notes():
    rows = services.latest_notes(access.scoped_customers(current_user))
    return render("example/notes.html", rows=rows)


@bp.route("/customers/<int:customer_id>/label")
def label(customer_id: int):
    customer = access.get_customer_or_404(current_user, customer_id)
    return render("example/label.html", customer=customer, note=services.note_text(customer))


@bp.route("/customers/<int:customer_id>/pin", methods=["POST"])
def pin(customer_id: int):
    customer = access.get_customer_or_404(current_user, customer_id)
    pinned = services.toggle_pin(customer)
    flash("Note pinned." if pinned else "Note unpinned.", "success")
    return see_other(url_for("customers.detail", customer_id=customer.id))
