"""``/custom-fields``: the administrator's pages (list, new, edit, archive, restore).

Plain forms with CSRF that post and redirect (303): they work without JavaScript.  Every page
requires ``custom_fields.admin``.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm import access
from crm.web.htmx import render, see_other

from . import fieldtypes as ft
from . import services
from .forms import DefinitionForm
from .models import FieldDef

bp = Blueprint("custom_fields", __name__, url_prefix="/custom-fields",
               template_folder="templates")


@bp.before_request
@login_required
def _signed_in():
    access.require(current_user, "custom_fields.admin")
    return None


def _definition_or_404(field_id: int) -> FieldDef:
    defn = FieldDef.get_or_none(FieldDef.id == field_id)
    if defn is None:
        abort(404)
    return defn


@bp.route("")
def index():
    rows = services.definitions(include_archived=True)
    return render("custom_fields/index.html", active=[d for d in rows if d.archived_at is None],
                  archived=[d for d in rows if d.archived_at is not None],
                  usage=services.usage(), type_labels=ft.TYPE_LABELS, label=services.label)


def _data(form) -> dict:
    return {k: form[k].data for k in services.DEFINITION_FIELDS}


def _show_errors(form, exc: services.DefinitionError) -> None:
    for key, message in exc.errors.items():
        target = form[key] if key in form else None
        if target is not None:
            target.errors = list(target.errors) + [message]
        else:
            form.form_errors.append(message)


def _page(form, defn, status):
    count = services.usage([defn.id]).get(defn.id, 0) if defn else 0
    return render("custom_fields/form.html", {"*": "custom_fields/_form.html"}, form=form,
                  defn=defn, count=count, status=status,
                  title=services.label(defn) if defn else _("New custom field"))


@bp.route("/new", methods=["GET", "POST"])
def new():
    form = DefinitionForm()
    if form.validate_on_submit():
        try:
            defn = services.create_field(_data(form), current_user)
        except services.DefinitionError as exc:
            _show_errors(form, exc)
        else:
            flash(_("Field “%(label)s” added.", label=services.label(defn)), "success")
            return see_other(url_for("custom_fields.index"))
    return _page(form, None, 422 if request.method == "POST" else 200)


@bp.route("/<int:field_id>/edit", methods=["GET", "POST"])
def edit(field_id: int):
    defn = _definition_or_404(field_id)
    if request.method == "GET":
        form = DefinitionForm(obj=defn)
        form.choices.data = services.choices_text(defn)
        form.view_roles.data = sorted(services.roles_of(defn.view_roles))
        form.edit_roles.data = sorted(services.roles_of(defn.edit_roles))
        form.version.data = defn.version
    else:
        form = DefinitionForm()
    if form.validate_on_submit():
        try:
            version = int(form.version.data or 0)
        except ValueError:
            version = 0
        try:
            defn = services.update_field(defn.id, version, _data(form), current_user)
        except services.Conflict:
            form.form_errors.append(_("Somebody changed this field meanwhile. Reload the page "
                                      "to see their version."))
        except services.DefinitionError as exc:
            _show_errors(form, exc)
        else:
            flash(_("Field “%(label)s” saved.", label=services.label(defn)), "success")
            return see_other(url_for("custom_fields.index"))
    return _page(form, defn, 422 if request.method == "POST" else 200)


@bp.route("/<int:field_id>/archive", methods=["POST"])
def archive(field_id: int):
    defn = _definition_or_404(field_id)
    services.archive(defn, current_user)
    flash(_("Field “%(label)s” archived: it is hidden, and its values are kept.",
            label=services.label(defn)), "success")
    return see_other(url_for("custom_fields.index"))


@bp.route("/<int:field_id>/restore", methods=["POST"])
def restore(field_id: int):
    defn = _definition_or_404(field_id)
    services.restore(defn, current_user)
    flash(_("Field “%(label)s” restored with its values.", label=services.label(defn)),
          "success")
    return see_other(url_for("custom_fields.index"))
