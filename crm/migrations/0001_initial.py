"""The core schema as of 0.1.0 (generated from crm.models; frozen: never edit)."""
# Generated from a schema diff on 2026-11-22 07:41.
from peewee import *


def up(migrator, db):
    class Department(Model):
        name = CharField(max_length=100)
        parent = ForeignKeyField('self', null=True, on_delete='RESTRICT')
        class Meta:
            database = db
            table_name = 'department'
    db.create_tables([Department])

    class User(Model):
        username = CharField(unique=True, max_length=64)
        display_name = CharField(max_length=100, default='')
        password_hash = CharField()
        role = CharField(index=True, max_length=16)
        department = ForeignKeyField(Department, null=True, on_delete='SET NULL')
        locale = CharField(null=True, max_length=10)
        timezone = CharField(null=True, max_length=64)
        is_active = BooleanField(default=True)
        created_at = DateTimeField()
        last_login_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'user_account'
    db.create_tables([User])

    class Customer(Model):
        number = CharField(unique=True, max_length=32)
        kind = CharField(max_length=10, default='company')
        name = CharField(index=True, max_length=200)
        industry = CharField(index=True, max_length=100, default='')
        size = CharField(max_length=20, default='')
        region = CharField(index=True, max_length=100, default='')
        founded_on = DateField(null=True)
        value_class = CharField(index=True, max_length=1, default='C')
        owner = ForeignKeyField(User, null=True, on_delete='SET NULL')
        department = ForeignKeyField(Department, null=True, on_delete='SET NULL')
        source = CharField(max_length=50, default='')
        preferred_channel = CharField(max_length=10, default='')
        phone = CharField(max_length=32, default='')
        email = CharField(max_length=254, default='')
        address = CharField(max_length=300, default='')
        notes = TextField(default='')
        consent_phone = BooleanField(default=False)
        consent_sms = BooleanField(default=False)
        consent_email = BooleanField(default=False)
        consent_wechat = BooleanField(default=False)
        last_contacted_at = DateTimeField(index=True, null=True)
        search_text = TextField(default='')
        created_at = DateTimeField(index=True)
        updated_at = DateTimeField()
        created_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        version = IntegerField(default=1)
        deleted_at = DateTimeField(index=True, null=True)
        deleted_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        class Meta:
            database = db
            table_name = 'customer'
    db.create_tables([Customer])

    class Contact(Model):
        customer = ForeignKeyField(Customer, on_delete='CASCADE')
        name = CharField(max_length=100)
        title = CharField(max_length=100, default='')
        mobile = CharField(max_length=32, default='')
        phone = CharField(max_length=32, default='')
        email = CharField(max_length=254, default='')
        wechat = CharField(max_length=64, default='')
        preferred_channel = CharField(max_length=10, default='')
        consent_phone = BooleanField(default=False)
        consent_sms = BooleanField(default=False)
        consent_email = BooleanField(default=False)
        consent_wechat = BooleanField(default=False)
        is_primary = BooleanField(default=False)
        created_at = DateTimeField()
        version = IntegerField(default=1)
        class Meta:
            database = db
            table_name = 'contact'
    db.create_tables([Contact])

    class Purchase(Model):
        customer = ForeignKeyField(Customer, on_delete='CASCADE')
        purchased_at = DateTimeField()
        total_fen = IntegerField(default=0)
        status = CharField(max_length=12, default='completed')
        note = CharField(max_length=300, default='')
        user = ForeignKeyField(User, null=True, on_delete='SET NULL')
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'purchase'
            indexes = ((('customer', 'purchased_at'), False),)
    db.create_tables([Purchase])

    class Activity(Model):
        customer = ForeignKeyField(Customer, on_delete='CASCADE')
        contact = ForeignKeyField(Contact, null=True, on_delete='SET NULL')
        kind = CharField(max_length=12)
        occurred_at = DateTimeField()
        summary = TextField()
        outcome = CharField(max_length=20, default='')
        next_followup_on = DateField(null=True)
        followup_done = BooleanField(default=False)
        user = ForeignKeyField(User, null=True, on_delete='SET NULL')
        purchase = ForeignKeyField(Purchase, null=True, on_delete='CASCADE')
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'activity'
            indexes = ((('customer', 'occurred_at'), False), (('user', 'followup_done', 'next_followup_on'), False))
    db.create_tables([Activity])

    class AuditLog(Model):
        at = DateTimeField(index=True)
        user = ForeignKeyField(User, null=True, on_delete='SET NULL')
        action = CharField(max_length=32)
        entity = CharField(max_length=32, default='')
        entity_id = IntegerField(null=True)
        field = CharField(max_length=64, default='')
        old = TextField(default='')
        new = TextField(default='')
        ip = CharField(max_length=64, default='')
        class Meta:
            database = db
            table_name = 'audit_log'
            indexes = ((('entity', 'entity_id', 'at'), False),)
    db.create_tables([AuditLog])

    class Tag(Model):
        name = CharField(unique=True, max_length=50)
        class Meta:
            database = db
            table_name = 'tag'
    db.create_tables([Tag])

    class CustomerTag(Model):
        customer = ForeignKeyField(Customer, on_delete='CASCADE')
        tag = ForeignKeyField(Tag, on_delete='CASCADE')
        class Meta:
            database = db
            table_name = 'customer_tag'
            primary_key = CompositeKey('customer', 'tag')
    db.create_tables([CustomerTag])

    class OutboxEvent(Model):
        uid = CharField(unique=True, max_length=36)
        name = CharField(max_length=64)
        payload = TextField(default='{}')
        created_at = DateTimeField()
        status = CharField(index=True, max_length=10, default='pending')
        attempts = IntegerField(default=0)
        next_attempt_at = DateTimeField(index=True)
        last_error = TextField(default='')
        class Meta:
            database = db
            table_name = 'outbox_event'
    db.create_tables([OutboxEvent])

    class EventDelivery(Model):
        event = ForeignKeyField(OutboxEvent, on_delete='CASCADE')
        plugin = CharField(max_length=64)
        delivered_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'event_delivery'
            indexes = ((('event', 'plugin'), True),)
    db.create_tables([EventDelivery])

    class Product(Model):
        sku = CharField(unique=True, max_length=64)
        name = CharField(max_length=200)
        category = CharField(index=True, max_length=100, default='')
        price_fen = IntegerField(default=0)
        active = BooleanField(default=True)
        created_at = DateTimeField()
        version = IntegerField(default=1)
        class Meta:
            database = db
            table_name = 'product'
    db.create_tables([Product])

    class PurchaseLine(Model):
        purchase = ForeignKeyField(Purchase, on_delete='CASCADE')
        product = ForeignKeyField(Product, on_delete='RESTRICT')
        quantity = IntegerField(default=1)
        unit_price_fen = IntegerField(default=0)
        amount_fen = IntegerField(default=0)
        class Meta:
            database = db
            table_name = 'purchase_line'
    db.create_tables([PurchaseLine])

    class Sequence(Model):
        name = CharField(max_length=32)
        period = CharField(max_length=16)
        value = IntegerField(default=0)
        class Meta:
            database = db
            table_name = 'number_sequence'
            primary_key = CompositeKey('name', 'period')
    db.create_tables([Sequence])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('number_sequence'))
    migrator.migrate(migrator.drop_table('purchase_line'))
    migrator.migrate(migrator.drop_table('product'))
    migrator.migrate(migrator.drop_table('event_delivery'))
    migrator.migrate(migrator.drop_table('outbox_event'))
    migrator.migrate(migrator.drop_table('customer_tag'))
    migrator.migrate(migrator.drop_table('tag'))
    migrator.migrate(migrator.drop_table('audit_log'))
    migrator.migrate(migrator.drop_table('activity'))
    migrator.migrate(migrator.drop_table('purchase'))
    migrator.migrate(migrator.drop_table('contact'))
    migrator.migrate(migrator.drop_table('customer'))
    migrator.migrate(migrator.drop_table('user_account'))
    migrator.migrate(migrator.drop_table('department'))
