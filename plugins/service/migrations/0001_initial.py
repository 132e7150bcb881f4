"""The service desk's schema as of 1.0 (generated with `python -m playhouse.migrations
sqlite:///:memory: initial -d plugins/service/migrations -t migrations_service
plugins.service.models:MODELS`; frozen: never edit, add the next migration instead)."""
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

    class Product(Model):
        class Meta:
            database = db
            table_name = 'product'

    class User(Model):
        class Meta:
            database = db
            table_name = 'user_account'

    class CalendarDay(Model):
        day = DateField(unique=True)
        workday = BooleanField()
        note = CharField(max_length=100, default='')
        class Meta:
            database = db
            table_name = 'service_calendar_day'
    db.create_tables([CalendarDay])

    class SlaPolicy(Model):
        type = CharField(max_length=16)
        priority = CharField(max_length=8)
        response_hours = IntegerField()
        resolve_hours = IntegerField()
        class Meta:
            database = db
            table_name = 'service_sla_policy'
            indexes = ((('type', 'priority'), True),)
    db.create_tables([SlaPolicy])

    class Ticket(Model):
        number = CharField(unique=True, max_length=32)
        customer = ForeignKeyField(Customer, on_delete='CASCADE')
        contact = ForeignKeyField(Contact, null=True, on_delete='SET NULL')
        type = CharField(index=True, max_length=16)
        channel = CharField(max_length=16)
        priority = CharField(max_length=8, default='normal')
        subject = CharField(max_length=200)
        content = TextField(default='')
        product = ForeignKeyField(Product, null=True, on_delete='SET NULL')
        cause = CharField(index=True, max_length=32, default='')
        status = CharField(index=True, max_length=16, default='new')
        assignee = ForeignKeyField(User, null=True, on_delete='SET NULL')
        created_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        created_at = DateTimeField(index=True)
        updated_at = DateTimeField()
        response_due = DateTimeField(null=True)
        responded_at = DateTimeField(null=True)
        resolve_due = DateTimeField(index=True, null=True)
        resolved_at = DateTimeField(null=True)
        response_warned_at = DateTimeField(null=True)
        response_breached_at = DateTimeField(null=True)
        resolve_warned_at = DateTimeField(null=True)
        resolve_breached_at = DateTimeField(null=True)
        escalated_to = ForeignKeyField(User, null=True, on_delete='SET NULL')
        escalated_at = DateTimeField(null=True)
        resolution = TextField(default='')
        followup_note = TextField(default='')
        followup_channel = CharField(max_length=16, default='')
        followup_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        followup_at = DateTimeField(null=True)
        satisfaction = IntegerField(null=True)
        closed_at = DateTimeField(index=True, null=True)
        reopened = IntegerField(default=0)
        version = IntegerField(default=1)
        class Meta:
            database = db
            table_name = 'service_ticket'
            indexes = ((('customer', 'created_at'), False), (('status', 'resolve_due'), False))
    db.create_tables([Ticket])

    class TicketEvent(Model):
        ticket = ForeignKeyField(Ticket, on_delete='CASCADE')
        at = DateTimeField()
        user = ForeignKeyField(User, null=True, on_delete='SET NULL')
        kind = CharField(max_length=16)
        from_status = CharField(max_length=16, default='')
        to_status = CharField(max_length=16, default='')
        note = TextField(default='')
        class Meta:
            database = db
            table_name = 'service_ticket_event'
    db.create_tables([TicketEvent])

    class TicketSequence(Model):
        period = CharField(primary_key=True, max_length=16)
        value = IntegerField(default=0)
        class Meta:
            database = db
            table_name = 'service_ticket_sequence'
    db.create_tables([TicketSequence])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('service_ticket_sequence'))
    migrator.migrate(migrator.drop_table('service_ticket_event'))
    migrator.migrate(migrator.drop_table('service_ticket'))
    migrator.migrate(migrator.drop_table('service_sla_policy'))
    migrator.migrate(migrator.drop_table('service_calendar_day'))
