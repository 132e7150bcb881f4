"""What an import remembers: the run itself (who, when, which file, how far, what happened),
one row per line of the file once it has been checked or written, and the users' saved
column mappings."""
from __future__ import annotations

import json

from peewee import AutoField, CharField, DateTimeField, ForeignKeyField, IntegerField, TextField

from crm.accounts.models import User
from crm.db import BaseModel, utcnow

KINDS = ("customers", "activities", "purchases")
KEYS = ("number", "phone", "email", "name")

# uploaded: the file is stored, the columns are being mapped
# checking / checked: the dry run is running / done (nothing written)
# running: the commit is writing, batch after batch
# done: every batch committed          interrupted: the commit stopped part-way (resume or undo)
# failed: the file could not be read   undone: reverted by "Undo this import"
# discarded: dropped before anything was written (the file and the rows are deleted)
STATUSES = ("uploaded", "checking", "checked", "running", "done", "interrupted", "failed",
            "undoing", "undone", "discarded")


class Import(BaseModel):
    id = AutoField()
    user = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL", index=True)
    kind = CharField(max_length=16, default="customers")
    file_name = CharField(max_length=255)
    stored_name = CharField(max_length=255, default="")   # in <instance>/imports, "" once removed
    file_format = CharField(max_length=8)                  # csv | xlsx
    encoding = CharField(max_length=16, default="")        # utf-8-sig | gb18030 (csv)
    file_size = IntegerField(default=0)
    headers = TextField(default="[]")                      # JSON: the header row's cells
    mapping = TextField(default="{}")                      # JSON: {column index: field name}
    options = TextField(default="{}")                      # JSON: key, default kind...
    status = CharField(max_length=16, default="uploaded", index=True)
    total_rows = IntegerField(default=0)                   # data rows (an estimate for XLSX)
    done_rows = IntegerField(default=0)                    # rows of the committed batches
    n_create = IntegerField(default=0)
    n_update = IntegerField(default=0)
    n_skip = IntegerField(default=0)
    n_error = IntegerField(default=0)
    message = TextField(default="")                        # why it failed or stopped
    created_at = DateTimeField(default=utcnow, index=True)
    started_at = DateTimeField(null=True)
    heartbeat_at = DateTimeField(null=True)                # moved by every committed batch
    finished_at = DateTimeField(null=True)
    undone_at = DateTimeField(null=True)
    undone_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    undo_report = TextField(default="{}")                  # JSON: what undo could not revert

    class Meta:
        table_name = "import_job"
        indexes = ((("user", "created_at"), False),)

    @property
    def options_dict(self) -> dict:
        return json.loads(self.options or "{}")

    @property
    def mapping_dict(self) -> dict[int, str]:
        return {int(k): v for k, v in json.loads(self.mapping or "{}").items()}

    @property
    def header_list(self) -> list[str]:
        return json.loads(self.headers or "[]")


class ImportRow(BaseModel):
    """One line of the file, as the dry run classified it (phase "dry") or as the commit wrote
    it (phase "commit").  A committed row keeps what undo needs: the id it created (and the
    contacts it added), or the values it overwrote with the version it left behind."""
    id = AutoField()
    job = ForeignKeyField(Import, backref="rows", on_delete="CASCADE")
    phase = CharField(max_length=8)            # dry | commit
    line = IntegerField()                      # line of the file (the header is line 1)
    action = CharField(max_length=8)           # create | update | skip | error
    record_id = IntegerField(null=True)        # the customer, activity or purchase
    label = CharField(max_length=200, default="")   # the customer's name, as shown in lists
    diff = TextField(default="")               # JSON {field: [old, new]} (update), extras
    version = IntegerField(null=True)          # the customer's version after the update
    message = TextField(default="")            # the reason of an error or a skip
    raw = TextField(default="")                # JSON: the line's cells (errors: rejected CSV)

    class Meta:
        table_name = "import_row"
        indexes = ((("job", "phase", "line"), False), (("job", "phase", "action"), False))


class ImportTemplate(BaseModel):
    """A column mapping saved under a name, per user: {header text: field name}."""
    id = AutoField()
    user = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    kind = CharField(max_length=16, default="customers")
    name = CharField(max_length=100)
    mapping = TextField(default="{}")
    options = TextField(default="{}")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "import_template"
        indexes = ((("user", "kind", "name"), True),)


MODELS = [Import, ImportRow, ImportTemplate]
