"""Imports (crm/imports/): the runs, their rows (what the dry run found, what the commit wrote,
what undo needs) and the users' saved column mappings."""
from peewee import *


def up(migrator, db):
    class User(Model):
        class Meta:
            database = db
            table_name = 'user_account'

    class Import(Model):
        id = AutoField()
        user = ForeignKeyField(User, null=True, on_delete='SET NULL', index=True, backref='+')
        kind = CharField(max_length=16, default='customers')
        file_name = CharField(max_length=255)
        stored_name = CharField(max_length=255, default='')
        file_format = CharField(max_length=8)
        encoding = CharField(max_length=16, default='')
        file_size = IntegerField(default=0)
        headers = TextField(default='[]')
        mapping = TextField(default='{}')
        options = TextField(default='{}')
        status = CharField(max_length=16, default='uploaded', index=True)
        total_rows = IntegerField(default=0)
        done_rows = IntegerField(default=0)
        n_create = IntegerField(default=0)
        n_update = IntegerField(default=0)
        n_skip = IntegerField(default=0)
        n_error = IntegerField(default=0)
        message = TextField(default='')
        created_at = DateTimeField(index=True)
        started_at = DateTimeField(null=True)
        heartbeat_at = DateTimeField(null=True)
        finished_at = DateTimeField(null=True)
        undone_at = DateTimeField(null=True)
        undone_by = ForeignKeyField(User, null=True, on_delete='SET NULL', backref='+')
        undo_report = TextField(default='{}')

        class Meta:
            database = db
            table_name = 'import_job'
            indexes = ((('user', 'created_at'), False),)

    class ImportRow(Model):
        id = AutoField()
        job = ForeignKeyField(Import, on_delete='CASCADE', backref='+')
        phase = CharField(max_length=8)
        line = IntegerField()
        action = CharField(max_length=8)
        record_id = IntegerField(null=True)
        label = CharField(max_length=200, default='')
        diff = TextField(default='')
        version = IntegerField(null=True)
        message = TextField(default='')
        raw = TextField(default='')

        class Meta:
            database = db
            table_name = 'import_row'
            indexes = ((('job', 'phase', 'line'), False), (('job', 'phase', 'action'), False))

    class ImportTemplate(Model):
        id = AutoField()
        user = ForeignKeyField(User, on_delete='CASCADE', backref='+')
        kind = CharField(max_length=16, default='customers')
        name = CharField(max_length=100)
        mapping = TextField(default='{}')
        options = TextField(default='{}')
        created_at = DateTimeField()

        class Meta:
            database = db
            table_name = 'import_template'
            indexes = ((('user', 'kind', 'name'), True),)
    db.create_tables([Import, ImportRow, ImportTemplate])


def down(migrator, db):
    db.execute_sql('DROP TABLE import_row')
    db.execute_sql('DROP TABLE import_template')
    db.execute_sql('DROP TABLE import_job')
