"""The recommendations' one page of its own: dismissing a next best action.

A POST form with the CSRF token that works without JavaScript (303 back to where it came
from); with htmx it answers the panel's body.  The customer is reached through the user's
scope (``crm.access.get_customer_or_404``): another rep's customer is a 404.
"""
from __future__ import annotations

from flask import Blueprint, abort, make_response, render_template, request, url_for
from flask_login import current_user, login_required

from crm import access
from crm.web.htmx import safe_next, see_other, wants_partial

from . import hooks, services

bp = Blueprint("recommendations", __name__, url_prefix="/recommendations",
               template_folder="templates")


@bp.before_request
@login_required
def _signed_in():
    return None


@bp.route("/customers/<int:customer_id>/dismiss", methods=["POST"])
def dismiss(customer_id: int):
    customer = access.get_customer_or_404(current_user, customer_id)
    access.require(current_user, "recommendations.view", customer)
    key = request.form.get("action", "")
    if not services.valid_action_key(key):
        abort(400)
    services.dismiss(customer.id, current_user.id, key)
    if wants_partial():
        response = make_response(render_template("recommendations/_panel.html",
                                                 **hooks.panel_context(customer, current_user)))
        response.vary.add("HX-Request")
        return response
    default = url_for("customers.panel", customer_id=customer.id, name=hooks.PANEL)
    return see_other(safe_next(request.form.get("next"), default))
