"""An import's life: upload -> column mapping -> dry run -> commit (-> resume) -> undo.

* ``create(user, file_name, data, kind)`` reads the file (a malformed one raises
  ``FileError`` and nothing is stored), guesses the mapping from the header and keeps the
  file in ``<instance>/imports`` until the import is finished.
* ``run(job_id, phase)`` reads the file again and goes through it in batches of
  ``IMPORT_BATCH_SIZE`` rows.  The dry run (phase ``dry``) only records what each row would
  do; the commit (phase ``commit``) writes it.  **Each batch is one transaction**: its
  customers, their audit rows and events, the import's own rows (the ids it created, the
  values it overwrote) and the progress counter commit together or not at all.  If a batch
  fails, or the worker dies, the batches before it stay complete, nothing of that batch is
  written, and the import shows as interrupted: resume goes on after the last committed
  batch, undo reverts what was committed.
* Large files (more than ``IMPORT_INLINE_MAX_ROWS`` rows) run as a background job
  (``crm.imports.jobs``); the page polls the progress.

Undo is in ``crm/imports/undo.py``.
"""
from __future__ import annotations

import contextlib
import json
import os
import uuid

from flask import current_app

from crm import access, bulk
from crm.accounts.models import User
from crm.audit import services as audit
from crm.customers import services as customer_services
from crm.db import database, utcnow
from crm.i18n import _l
from crm.imports import columns, parsing
from crm.imports.customer_rows import CustomerRows, import_columns
from crm.imports.models import Import, ImportRow, ImportTemplate
from crm.imports.outcome import jsonable
from crm.imports.parsing import FileError
from crm.imports.record_rows import ActivityRows, PurchaseRows

DEFAULTS = {
    "IMPORT_MAX_BYTES": 20 * 1024 * 1024,     # the largest file accepted
    "IMPORT_MAX_ROWS": 200_000,
    "IMPORT_BATCH_SIZE": 2000,                # rows per transaction
    "IMPORT_INLINE_MAX_ROWS": 2000,           # more: a background job
    "IMPORT_STALE_SECONDS": 300,              # a run without progress for this long died
}
PROCESSORS = {"customers": CustomerRows, "activities": ActivityRows, "purchases": PurchaseRows}
PERMISSIONS = {"customers": "customer.import", "activities": "customer.import",
               "purchases": "customer.import"}
RUNNING = ("checking", "running", "undoing")


def setting(name: str) -> int:
    return int(current_app.config.get(name) or DEFAULTS[name])


def settings() -> customer_services.Settings:
    return customer_services.Settings(current_app.config["CUSTOMER_NUMBER_PATTERN"],
                                      current_app.config["BABEL_DEFAULT_TIMEZONE"])


# -- files ----------------------------------------------------------------------------------------

def folder() -> str:
    path = os.path.join(current_app.instance_path, "imports")
    os.makedirs(path, mode=0o700, exist_ok=True)
    return path


def file_bytes(job: Import) -> bytes:
    if not job.stored_name:
        raise FileError(_l("The uploaded file is no longer kept: upload it again."))
    try:
        with open(os.path.join(folder(), job.stored_name), "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise FileError(_l("The uploaded file is no longer kept: upload it again.")) from exc


def remove_file(job: Import) -> None:
    """The uploaded file holds personal data: it is removed once the import no longer needs
    it (done, undone or discarded)."""
    if job.stored_name:
        with contextlib.suppress(OSError):
            os.remove(os.path.join(folder(), job.stored_name))
        Import.update(stored_name="").where(Import.id == job.id).execute()
        job.stored_name = ""


def table(job: Import, count: bool = True) -> parsing.Table:
    return parsing.read(file_bytes(job), job.file_format, job.encoding or None,
                        setting("IMPORT_MAX_ROWS"), count)


# -- who sees which import ------------------------------------------------------------------------

def visible(user):
    """The imports ``user`` may see: their own; a manager's department's too; all for an
    admin (like the customers they touch)."""
    query = Import.select()
    if user.role == "admin":
        return query
    if user.role == "manager":
        depts = access.department_subtree(user.department_id)
        team = User.select(User.id).where(User.department.in_(depts)) if depts else [user.id]
        return query.where(Import.user.in_(team) | (Import.user == user.id))
    return query.where(Import.user == user.id)


def get_or_404(user, import_id: int) -> Import:
    from flask import abort
    job = visible(user).where(Import.id == import_id).first()
    if job is None:
        abort(404)
    return job


def effective_status(job: Import) -> str:
    """``running``/``checking``/``undoing`` without progress for ``IMPORT_STALE_SECONDS``: the
    worker died; the import shows as interrupted (a dry run as not checked yet)."""
    if job.status in RUNNING:
        beat = job.heartbeat_at or job.started_at or job.created_at
        if (utcnow() - beat).total_seconds() > setting("IMPORT_STALE_SECONDS"):
            return {"checking": "uploaded", "running": "interrupted",
                    "undoing": "interrupted"}[job.status]
    return job.status


# -- upload and mapping ---------------------------------------------------------------------------

def create(user, file_name: str, data: bytes, kind: str = "customers") -> Import:
    """A new import from an uploaded file; raises FileError (nothing stored) if it cannot be
    read or if no column of its header is recognised."""
    if kind not in PROCESSORS:
        raise FileError(_l("Unknown kind of import."))
    if not data:
        raise FileError(_l("The file is empty."))
    if len(data) > setting("IMPORT_MAX_BYTES"):
        raise FileError(_l("The file is larger than %(mb)s MB: split it into several files.",
                           mb=setting("IMPORT_MAX_BYTES") // (1024 * 1024)))
    file_format = parsing.sniff_format(file_name, data[:8])
    parsed = parsing.read(data, file_format, None, setting("IMPORT_MAX_ROWS"))
    if parsed.total > setting("IMPORT_MAX_ROWS"):
        raise FileError(_l("The file has more than %(n)s rows: split it into several files.",
                           n=setting("IMPORT_MAX_ROWS")))
    fields = columns.fields_for(kind, import_columns(user) if kind == "customers" else ())
    mapping = columns.guess(parsed.headers, fields, kind)
    if not mapping:
        raise FileError(_l("No column of the first row is one we know (for example 客户名称, "
                           "手机, 邮箱 or Name, Phone, E-mail): the first row must be the "
                           "header."))
    stored = f"{uuid.uuid4().hex}.{file_format}"
    with open(os.path.join(folder(), stored), "wb") as fh:
        fh.write(data)
    mapped = set(mapping.values())
    key = next((k for k in ("number", "phone", "email", "name") if k in mapped), "number")
    try:
        job = Import.create(user=user.id, kind=kind, file_name=(file_name or "upload")[:255],
                            stored_name=stored, file_format=file_format,
                            encoding=parsed.encoding, file_size=len(data),
                            headers=json.dumps(parsed.headers, ensure_ascii=False),
                            mapping=json.dumps(mapping),
                            options=json.dumps({"key": key, "default_kind": "company"}),
                            total_rows=parsed.total)
    except Exception:
        with contextlib.suppress(OSError):
            os.remove(os.path.join(folder(), stored))
        raise
    return job


def fields(job: Import, user) -> list[columns.Field]:
    return columns.fields_for(job.kind, import_columns(user) if job.kind == "customers" else ())


def save_mapping(job: Import, mapping: dict[int, str], options: dict) -> None:
    Import.update(mapping=json.dumps({str(k): v for k, v in mapping.items() if v}),
                  options=json.dumps(options)).where(Import.id == job.id).execute()
    job.mapping, job.options = json.dumps(mapping), json.dumps(options)


def templates(user, kind: str):
    return (ImportTemplate.select().where((ImportTemplate.user == user.id)
                                          & (ImportTemplate.kind == kind))
            .order_by(ImportTemplate.name))


def save_template(user, job: Import, name: str) -> ImportTemplate:
    saved = columns.to_template(job.header_list, job.mapping_dict)
    name = name.strip()[:100]
    with database.atomic():
        existing = ImportTemplate.get_or_none((ImportTemplate.user == user.id)
                                              & (ImportTemplate.kind == job.kind)
                                              & (ImportTemplate.name == name))
        if existing:
            existing.mapping = json.dumps(saved, ensure_ascii=False)
            existing.options = job.options
            existing.save()
            return existing
        return ImportTemplate.create(user=user.id, kind=job.kind, name=name,
                                     mapping=json.dumps(saved, ensure_ascii=False),
                                     options=job.options)


def apply_template(job: Import, template: ImportTemplate, user) -> None:
    mapping = columns.from_template(job.header_list, json.loads(template.mapping or "{}"),
                                    fields(job, user))
    options = {**job.options_dict, **json.loads(template.options or "{}")}
    save_mapping(job, mapping, options)


def discard(job: Import, user) -> None:
    """An import that wrote nothing, dropped: its file and rows go, the record of who uploaded
    what and when stays (as "discarded")."""
    remove_file(job)
    with database.atomic():
        ImportRow.delete().where(ImportRow.job == job.id).execute()
        Import.update(status="discarded", finished_at=utcnow()).where(
            Import.id == job.id).execute()


# -- running --------------------------------------------------------------------------------------

def inline(job: Import) -> bool:
    return job.total_rows <= setting("IMPORT_INLINE_MAX_ROWS")


def claim(job: Import, phase: str, resume: bool = False) -> bool:
    """Mark the import as running (dry run: checking), unless another run holds it: one
    conditional update, so two clicks never start two runs."""
    now = utcnow()
    allowed = {"dry": ("uploaded", "checked", "failed"),
               "commit": ("checked",), "resume": ("interrupted",),
               "undo": ("done", "interrupted")}[("resume" if resume else phase)]
    status = effective_status(job)
    if status not in allowed or (resume and job.undone_by_id):    # never resume after undo
        return False
    changes = dict(status={"dry": "checking", "commit": "running", "undo": "undoing"}[phase],
                   heartbeat_at=now, message="")
    if not resume and phase != "undo":
        changes.update(started_at=now, done_rows=0, n_create=0, n_update=0, n_skip=0,
                       n_error=0, finished_at=None)
    updated = Import.update(**changes).where((Import.id == job.id)
                                             & (Import.status == job.status)).execute()
    return bool(updated)


def start(job: Import, phase: str, user, resume: bool = False) -> bool:
    """Claim the import, then run it here (small files) or enqueue the job (large ones).
    False when it is not in a state to do that (already running, already done...)."""
    if not claim(job, phase, resume):
        return False
    tasks = current_app.extensions["crm.imports.tasks"]
    if phase == "undo":
        from crm.imports import undo
        Import.update(undone_by=user.id).where(Import.id == job.id).execute()
        if job.n_create + job.n_update <= setting("IMPORT_INLINE_MAX_ROWS"):
            undo.run(job.id, user.id)
        else:
            tasks["undo"](job.id, user.id)
        return True
    if inline(job):
        run(job.id, phase, resume)
    else:
        tasks["run"](job.id, phase, resume)
    return True


def _batches(records, size: int, skip: int):
    batch = []
    for index, record in enumerate(records):
        if index < skip:
            continue
        batch.append(record)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _ahead(batches, processor, helper):
    """(batch, its ``processor.clean``) for each batch, the next batch's cleaning done in the
    helper thread while the caller classifies and writes this one.  A processor without
    ``clean`` gets (batch, None): ``classify`` does everything."""
    clean = getattr(processor, "clean", None)
    if clean is None:
        for batch in batches:
            yield batch, None
        return
    work = _in_this_context(clean)
    pending = None
    for batch in batches:
        future = helper.submit(work, batch)
        if pending is not None:
            yield pending[0], pending[1].result()
        pending = (batch, future)
    if pending is not None:
        yield pending[0], pending[1].result()


def _in_this_context(function):
    """``function`` made to run in another thread as in this one: the same app and the same
    forced locale (messages in the importing user's language); a database connection it
    opens there is closed after each call."""
    from flask_babel import force_locale, get_locale
    app = current_app._get_current_object()
    locale = str(get_locale() or app.config["BABEL_DEFAULT_LOCALE"])

    def run(*args):
        with app.app_context(), force_locale(locale):
            try:
                return function(*args)
            finally:
                if not database.is_closed():
                    database.close()
    return run


@contextlib.contextmanager
def _helper():
    """One helper thread for the CPU work of the next batch that needs no database (parsing,
    checking, the search index's pinyin), done while the database writes this batch (the
    drivers release the GIL): the two cores of a small server both work."""
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="crm-import") as pool:
        yield pool


def user_locale(user):
    """Messages recorded by a run are in the language of the user who started it (a job
    worker has no request to choose one from)."""
    from flask_babel import force_locale
    locale = getattr(user, "locale", None) or current_app.config["BABEL_DEFAULT_LOCALE"]
    return force_locale(locale)


def run(job_id: int, phase: str, resume: bool = False) -> None:
    """The body of a dry run or a commit (inline or in the job worker).  Never raises: a
    failure is recorded on the import."""
    job = Import.get_by_id(job_id)
    user = User.get_or_none(User.id == job.user_id)
    with user_locale(user):
        _run(job, user, phase, resume)


def _run(job: Import, user, phase: str, resume: bool) -> None:
    commit = phase == "commit"
    try:
        if user is None or not user.is_active:
            raise FileError(_l("The user who started this import can no longer sign in."))
        if commit and not resume:
            ImportRow.delete().where((ImportRow.job == job.id)).execute()
        elif not commit:
            ImportRow.delete().where((ImportRow.job == job.id)
                                     & (ImportRow.phase == "dry")).execute()
        data = table(job, count=False)
        processor = PROCESSORS[job.kind](job, user, settings())
        size = setting("IMPORT_BATCH_SIZE")
        skip = job.done_rows if resume else 0
        consumed = skip
        with bulk.session(), _helper() as helper:
            for batch, cleaned in _ahead(_batches(data.rows, size, skip), processor, helper):
                with bulk.write_transaction():
                    outcomes = (processor.classify(batch) if cleaned is None
                                else processor.classify(batch, cleaned))
                    if commit:
                        processor.write(outcomes)
                    _record(job, "commit" if commit else "dry", outcomes, len(batch))
                consumed += len(batch)
    except Exception as exc:  # noqa: BLE001 - recorded on the import, shown to the user
        _stopped(job, commit, exc)
        return
    now = utcnow()
    Import.update(status="done" if commit else "checked", finished_at=now, heartbeat_at=now,
                  total_rows=consumed).where(Import.id == job.id).execute()
    if commit:
        job = Import.get_by_id(job.id)
        audit.record("import.commit", user, "import", job.id,
                     [("file", "", job.file_name), ("kind", "", job.kind),
                      ("created", "", job.n_create), ("updated", "", job.n_update),
                      ("skipped", "", job.n_skip), ("errors", "", job.n_error)])
        remove_file(job)


def _stopped(job: Import, commit: bool, exc: BaseException) -> None:
    if isinstance(exc, FileError):
        message = str(exc.message)
    else:
        current_app.logger.exception("import %s stopped", job.id)
        cause = getattr(exc, "cause", None) or exc
        message = str(_l("Stopped by an error in a batch (%(error)s); the batches before it "
                         "are complete, nothing of that batch was written.",
                         error=f"{type(cause).__name__}: {cause}"[:300]))
    if database.obj.transaction_depth() > 0:      # never inside a failed transaction
        database.rollback()
    status = ("interrupted" if Import.get_by_id(job.id).done_rows else "failed") if commit \
        else "failed"
    Import.update(status=status, message=message, heartbeat_at=utcnow()).where(
        Import.id == job.id).execute()


def _record(job: Import, phase: str, outcomes, consumed: int) -> None:
    """The batch's rows and the progress, in the batch's transaction."""
    rows, counts = [], {"create": 0, "update": 0, "skip": 0, "error": 0}
    for o in outcomes:
        counts[o.action] += 1
        rows.append((job.id, phase, o.line, o.action, o.record_id, (o.label or "")[:200],
                     json.dumps(jsonable_diff(o.diff), ensure_ascii=False) if o.diff else "",
                     o.version, o.message,
                     json.dumps(o.raw, ensure_ascii=False) if o.action == "error" else ""))
    _insert_rows(rows)
    Import.update(n_create=Import.n_create + counts["create"],
                  n_update=Import.n_update + counts["update"],
                  n_skip=Import.n_skip + counts["skip"],
                  n_error=Import.n_error + counts["error"],
                  done_rows=Import.done_rows + consumed,
                  heartbeat_at=utcnow()).where(Import.id == job.id).execute()


_ROW_COLUMNS = ("job_id", "phase", "line", "action", "record_id", "label", "diff", "version",
                "message", "raw")


def _insert_rows(rows: list[tuple]) -> None:
    """Multi-row INSERTs of import rows (a tenth of the time of peewee's insert_many, which
    converts every value through its field)."""
    per_statement = 2000
    columns = ", ".join(f'"{c}"' for c in _ROW_COLUMNS)
    placeholder = "(" + ", ".join([database.param] * len(_ROW_COLUMNS)) + ")"
    for start in range(0, len(rows), per_statement):
        chunk = rows[start:start + per_statement]
        database.execute_sql(f'INSERT INTO "import_row" ({columns}) VALUES '
                             + ", ".join([placeholder] * len(chunk)),
                             [value for row in chunk for value in row])


def jsonable_diff(diff: dict) -> dict:
    return {k: jsonable(v) for k, v in diff.items()}


# -- reading results ------------------------------------------------------------------------------

def result_phase(job: Import) -> str:
    return "dry" if job.status in ("uploaded", "checking", "checked") else "commit"


def result_rows(job: Import, action: str | None, page: int, per_page: int = 50):
    query = ImportRow.select().where((ImportRow.job == job.id)
                                     & (ImportRow.phase.in_([result_phase(job), "undone"])))
    if action:
        query = query.where(ImportRow.action == action)
    rows = list(query.order_by(ImportRow.line).paginate(page, per_page))
    for row in rows:
        row.changes = json.loads(row.diff) if row.diff else {}
    return rows


def rejected_csv(job: Import):
    """The rows that were rejected, as they were in the file, with the reason: UTF-8 with a
    BOM (Excel in China opens it), every cell neutralised against formula injection."""
    from crm.exports.services import csv_chunks
    phase = result_phase(job)
    headers = job.header_list

    def table():
        yield [str(_l("Line"))] + headers + [str(_l("Reason"))]
        query = (ImportRow.select(ImportRow.line, ImportRow.raw, ImportRow.message)
                 .where((ImportRow.job == job.id) & (ImportRow.phase == phase)
                        & (ImportRow.action == "error")).order_by(ImportRow.line))
        for line, raw, message in query.tuples().iterator():
            cells = json.loads(raw or "[]")
            cells = parsing.padded(cells, len(headers))
            yield [line] + cells + [message]
    return csv_chunks(table())
