"""The needs register's schema as of 1.0 (generated with `python -m playhouse.migrations
sqlite:///:memory: initial -d plugins/needs/migrations -t migrations_needs
plugins.needs.models:MODELS`; frozen: never edit, add the next migration instead)."""
from peewee import *

# Time defaults (crm.db.utcnow) are set by the models in Python, not by the schema.


def up(migrator, db):
    class Contact(Model):
        class Meta:
            database = db
            table_name = 'contact'

    class Customer(Model):
        class Meta:
            database = db
            table_name = 'customer'

    class User(Model):
        class Meta:
            database = db
            table_name = 'user_account'

    class Need(Model):
        customer = ForeignKeyField(Customer, on_delete='CASCADE')
        contact = ForeignKeyField(Contact, null=True, on_delete='SET NULL')
        kind = CharField(max_length=10, default='explicit')
        type = CharField(index=True, max_length=12)
        title = CharField(max_length=100)
        statement = TextField(default='')
        situation = TextField(default='')
        evidence = TextField(default='')
        urgency = IntegerField(default=3)
        importance = IntegerField(default=3)
        customer_value = IntegerField(default=3)
        score = IntegerField(index=True, default=9)
        status = CharField(index=True, max_length=12, default='to_confirm')
        resolution = TextField(default='')
        next_review_on = DateField(index=True, null=True)
        reviewed_at = DateTimeField(null=True)
        created_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        created_at = DateTimeField(index=True)
        updated_at = DateTimeField()
        version = IntegerField(default=1)
        class Meta:
            database = db
            table_name = 'needs_need'
    db.create_tables([Need])

    class NeedEvent(Model):
        need = ForeignKeyField(Need, on_delete='CASCADE')
        at = DateTimeField()
        user = ForeignKeyField(User, null=True, on_delete='SET NULL')
        kind = CharField(max_length=12)
        from_status = CharField(max_length=12, default='')
        to_status = CharField(max_length=12, default='')
        note = TextField(default='')
        class Meta:
            database = db
            table_name = 'needs_event'
    db.create_tables([NeedEvent])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('needs_event'))
    migrator.migrate(migrator.drop_table('needs_need'))
