"""The example plugin's schema as of 1.0 (0002 adds example_note.pinned) (generated with `python -m playhouse.migrations
sqlite:///:memory: initial -d tests/plugins/example_plugin/migrations -t migrations_example
tests.plugins.example_plugin.models:MODELS`; frozen: never edit)."""
# Generated from a schema diff on 2026-11-22 08:02.
from peewee import *

# Time defaults (crm.db.utcnow) are set by the models in Python, not by the schema.

def up(migrator, db):
    class Customer(Model):
        class Meta:
            database = db
            table_name = 'customer'

    class ExampleEventLog(Model):
        uid = CharField(unique=True, max_length=36)
        name = CharField(max_length=64)
        customer_id = IntegerField(null=True)
        handled_at = DateTimeField(index=True)
        class Meta:
            database = db
            table_name = 'example_event_log'
    db.create_tables([ExampleEventLog])

    class ExampleNote(Model):
        customer = ForeignKeyField(Customer, unique=True, on_delete='CASCADE')
        text = CharField(max_length=200, default='')
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'example_note'
    db.create_tables([ExampleNote])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('example_note'))
    migrator.migrate(migrator.drop_table('example_event_log'))
