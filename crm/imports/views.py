"""``/imports``: upload a file, map its columns, check it (dry run), import it, undo it.

Every route needs ``customer.import``; an import is seen by the user who made it, their
manager and administrators (``services.visible``), anybody else gets a 404.  Mapping, checking,
importing, resuming and discarding act as the user who uploaded the file (with their scope),
so only they may do it; undo may also be done by whoever sees the import.
"""
from __future__ import annotations

import json

from flask import Blueprint, Response, abort, flash, request, stream_with_context, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from peewee import JOIN
from werkzeug.exceptions import RequestEntityTooLarge

from crm import access
from crm.accounts.models import User
from crm.i18n import _l
from crm.imports import jobs, services
from crm.imports.customer_rows import display_value
from crm.imports.models import KEYS, KINDS, Import, ImportTemplate
from crm.imports.parsing import FileError
from crm.web.htmx import render, see_other, wants_partial

bp = Blueprint("imports", __name__, url_prefix="/imports")
PER_PAGE = 50

KIND_LABELS = {"customers": _l("Customers and contacts"), "activities": _l("Activities"),
               "purchases": _l("Purchases")}
STATUS_LABELS = {"uploaded": _l("Not checked yet"), "checking": _l("Checking…"),
                 "checked": _l("Checked, not imported yet"), "running": _l("Importing…"),
                 "done": _l("Imported"), "interrupted": _l("Interrupted"),
                 "failed": _l("Failed"), "undoing": _l("Undoing…"), "undone": _l("Undone"),
                 "discarded": _l("Discarded")}
ACTION_LABELS = {"create": _l("Create"), "update": _l("Update"), "skip": _l("Skip"),
                 "error": _l("Error")}
KEY_LABELS = {"number": _l("Customer number"), "phone": _l("Phone (normalised)"),
              "email": _l("E-mail"), "name": _l("Exact name")}


@bp.context_processor
def _labels():
    return dict(import_kinds=KIND_LABELS, import_statuses=STATUS_LABELS,
                import_actions=ACTION_LABELS, import_keys=KEY_LABELS)


@bp.record_once
def _setup(state) -> None:
    app = state.app
    jobs.register(app)

    def limit_upload():
        # Before the CSRF check parses the form: a file over the limit is refused while it
        # is being received, not after it was spooled to disk.
        if request.endpoint == "imports.upload":
            request.max_content_length = services.setting("IMPORT_MAX_BYTES") + 256 * 1024
    app.before_request_funcs.setdefault(None, []).insert(0, limit_upload)

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(_error):
        from flask import render_template
        if request.blueprint == "imports":
            return _index(error=_("The file is larger than %(mb)s MB: split it into several "
                                  "files.", mb=services.setting("IMPORT_MAX_BYTES")
                                  // (1024 * 1024)), status=413)
        return render_template("errors/error.html", code=413, message=None), 413


@bp.before_request
@login_required
def _signed_in():
    access.require(current_user, "customer.import")


def _own(job: Import) -> None:
    """Acting as the uploader (their scope): only they may."""
    if job.user_id != current_user.id:
        abort(403)


# -- the list and the upload ----------------------------------------------------------------------

def _index(error: str | None = None, status: int = 200, kind: str = "customers"):
    jobs_list = list(services.visible(current_user)
                     .select_extend(User.id, User.username, User.display_name)
                     .join(User, JOIN.LEFT_OUTER, on=(Import.user == User.id), attr="user")
                     .order_by(Import.created_at.desc(), Import.id.desc()).limit(50))
    from crm.imports.columns import fields_for
    from crm.imports.customer_rows import import_columns
    fields = fields_for("customers", import_columns(current_user))
    return render("imports/index.html", jobs=jobs_list, error=error, kind=kind, fields=fields,
                  status_of=services.effective_status, kinds=KINDS,
                  max_mb=services.setting("IMPORT_MAX_BYTES") // (1024 * 1024),
                  status=status)


@bp.route("")
def index():
    return _index()


@bp.route("", methods=["POST"])
def upload():
    kind = request.form.get("kind", "customers")
    if kind not in KINDS:
        kind = "customers"
    sent = request.files.get("file")
    if sent is None or not sent.filename:
        return _index(_("Choose a CSV or XLSX file."), 422, kind)
    data = sent.stream.read(services.setting("IMPORT_MAX_BYTES") + 1)
    try:
        job = services.create(current_user, sent.filename, data, kind)
    except FileError as exc:
        return _index(str(exc.message), 422, kind)
    return see_other(url_for("imports.mapping", import_id=job.id))


# -- mapping --------------------------------------------------------------------------------------

def _sample(job: Import, rows: int = 3) -> list[list[str]]:
    try:
        table = services.table(job)
    except FileError:
        return []
    out = []
    for _line, cells in table.rows:
        if any(cells):
            out.append(cells)
        if len(out) >= rows:
            break
    return out


@bp.route("/<int:import_id>/mapping", methods=["GET", "POST"])
def mapping(import_id: int):
    job = services.get_or_404(current_user, import_id)
    _own(job)
    status = services.effective_status(job)
    if status not in ("uploaded", "checked", "failed") or not job.stored_name:
        flash(_("This import can no longer be changed."), "error")
        return see_other(url_for("imports.detail", import_id=job.id))
    fields = services.fields(job, current_user)
    error = None
    if request.method == "POST":
        template_id = request.form.get("apply_template", type=int)
        if request.form.get("action") == "apply" and template_id:
            template = ImportTemplate.get_or_none((ImportTemplate.id == template_id)
                                                  & (ImportTemplate.user == current_user.id))
            if template is not None:
                services.apply_template(job, template, current_user)
                flash(_("Mapping “%(name)s” applied.", name=template.name), "success")
            return see_other(url_for("imports.mapping", import_id=job.id))
        names = {f.name for f in fields}
        chosen, taken, duplicate = {}, set(), []
        for index in range(len(job.header_list)):
            field = request.form.get(f"col-{index}", "")
            if field in names:
                if field in taken:
                    duplicate.append(field)
                chosen[index] = field
                taken.add(field)
        key = request.form.get("key", "")
        options = dict(job.options_dict, key=key if key in KEYS else "number",
                       default_kind=request.form.get("default_kind") if request.form.get(
                           "default_kind") in ("company", "person") else "company")
        services.save_mapping(job, chosen, options)
        labels = {f.name: str(f.label) for f in fields}
        if duplicate:
            error = _("Each field can be filled from one column only: %(fields)s.",
                      fields=", ".join(labels[f] for f in sorted(set(duplicate))))
        elif not chosen:
            error = _("Map at least one column.")
        elif job.kind != "customers" and options["key"] not in taken:
            error = _("Map the column that finds the customer (%(key)s).",
                      key=labels.get(options["key"], options["key"]))
        else:
            name = (request.form.get("template_name") or "").strip()
            if name:
                services.save_template(current_user, job, name)
            if request.form.get("action") == "template":
                flash(_("Mapping saved as “%(name)s”.", name=name) if name
                      else _("Give the mapping a name to save it."), "success" if name else "error")
                return see_other(url_for("imports.mapping", import_id=job.id))
            services.start(Import.get_by_id(job.id), "dry", current_user)
            return see_other(url_for("imports.detail", import_id=job.id))
        job = Import.get_by_id(job.id)
    return render("imports/mapping.html", job=job, fields=fields, mapping=job.mapping_dict,
                  options=job.options_dict, sample=_sample(job), error=error,
                  templates=list(services.templates(current_user, job.kind)), keys=KEYS,
                  status=422 if error else 200)


@bp.route("/templates/delete", methods=["POST"])
def delete_template():
    template = ImportTemplate.get_or_none(
        (ImportTemplate.id == request.form.get("template_id", type=int))
        & (ImportTemplate.user == current_user.id))
    if template is not None:
        template.delete_instance()
        flash(_("Mapping “%(name)s” deleted.", name=template.name), "success")
    back = request.form.get("import_id", type=int)
    if back and services.visible(current_user).where(Import.id == back).exists():
        return see_other(url_for("imports.mapping", import_id=back))
    return see_other(url_for("imports.index"))


# -- the import page ------------------------------------------------------------------------------

@bp.route("/<int:import_id>")
def detail(import_id: int):
    job = services.get_or_404(current_user, import_id)
    status = services.effective_status(job)
    if request.args.get("poll") and wants_partial() and status not in services.RUNNING:
        response = Response("", 200)        # finished while the page polled: show it all
        response.headers["HX-Refresh"] = "true"
        response.vary.add("HX-Request")
        return response
    action = request.args.get("action", "")
    if action not in ("create", "update", "skip", "error"):
        action = ""
    page = max(1, request.args.get("page", 1, type=int) or 1)
    rows = services.result_rows(job, action or None, page, PER_PAGE) \
        if status not in services.RUNNING else []
    labels = {f.name: str(f.label) for f in services.fields(job, current_user)}
    labels["_contact"] = _("New contact")
    report = json.loads(job.undo_report or "{}")
    users = {}
    if any("owner" in r.changes for r in rows):
        users = {u.id: u.name for u in User.select(User.id, User.username, User.display_name)}
    return render("imports/detail.html",
                  {"import-status": "imports/_status.html", "import-rows": "imports/_rows.html"},
                  job=job, state=status, rows=rows, action=action, page=page,
                  per_page=PER_PAGE, labels=labels, report=report,
                  show=lambda field, value: display_value(field, value, users),
                  mine=job.user_id == current_user.id, running=status in services.RUNNING,
                  progress=_progress(job))


def _progress(job: Import) -> int:
    if job.status == "undoing":
        return 0
    total = max(job.total_rows, job.done_rows, 1)
    return min(100, int(job.done_rows * 100 / total))


def _act(import_id: int, phase: str, resume: bool = False, own: bool = True):
    job = services.get_or_404(current_user, import_id)
    if own:
        _own(job)
    if not services.start(job, phase, current_user, resume):
        flash(_("This import is not in a state to do that (it may be running already)."),
              "error")
    return see_other(url_for("imports.detail", import_id=job.id))


@bp.route("/<int:import_id>/commit", methods=["POST"])
def commit(import_id: int):
    return _act(import_id, "commit")


@bp.route("/<int:import_id>/resume", methods=["POST"])
def resume(import_id: int):
    return _act(import_id, "commit", resume=True)


@bp.route("/<int:import_id>/undo", methods=["POST"])
def undo(import_id: int):
    return _act(import_id, "undo", own=False)


@bp.route("/<int:import_id>/discard", methods=["POST"])
def discard(import_id: int):
    job = services.get_or_404(current_user, import_id)
    _own(job)
    if services.effective_status(job) not in ("uploaded", "checked", "failed"):
        flash(_("Only an import that has not written anything can be discarded."), "error")
        return see_other(url_for("imports.detail", import_id=job.id))
    services.discard(job, current_user)
    flash(_("Import discarded: the file is deleted."), "success")
    return see_other(url_for("imports.index"))


@bp.route("/<int:import_id>/rejected.csv")
def rejected(import_id: int):
    job = services.get_or_404(current_user, import_id)
    response = Response(stream_with_context(services.rejected_csv(job)), mimetype="text/csv")
    response.charset = "utf-8"
    stem = job.file_name.rsplit(".", 1)[0][:80].replace('"', "")
    from urllib.parse import quote
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"rejected-{job.id}.csv\"; "
        f"filename*=UTF-8''{quote(stem + '-rejected.csv')}")
    response.headers["Cache-Control"] = "no-store"
    return response

