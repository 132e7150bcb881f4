"""The custom fields' schema as of 1.0 (written from plugins.custom_fields.models in the shape
`python -m playhouse.migrations ... initial` generates; frozen: never edit, add the next
migration instead)."""
from peewee import *

# Time defaults (crm.db.utcnow) are set by the models in Python, not by the schema.


def up(migrator, db):
    class Customer(Model):
        class Meta:
            database = db
            table_name = 'customer'

    class FieldDef(Model):
        key = CharField(max_length=40, unique=True)
        label_zh = CharField(max_length=60, default='')
        label_en = CharField(max_length=60, default='')
        type = CharField(max_length=12)
        choices = TextField(default='[]')
        required = BooleanField(default=False)
        section = CharField(max_length=60, default='')
        view_roles = CharField(max_length=100, default='')
        edit_roles = CharField(max_length=100, default='')
        help_zh = CharField(max_length=300, default='')
        help_en = CharField(max_length=300, default='')
        in_list = BooleanField(default=False)
        filterable = BooleanField(default=True)
        position = IntegerField(default=100)
        former_labels = TextField(default='[]')
        archived_at = DateTimeField(index=True, null=True)
        created_at = DateTimeField()
        updated_at = DateTimeField()
        version = IntegerField(default=1)
        class Meta:
            database = db
            table_name = 'custom_fields_field'
    db.create_tables([FieldDef])

    class FieldValue(Model):
        field = ForeignKeyField(FieldDef, index=False, on_delete='CASCADE')
        customer = ForeignKeyField(Customer, index=True, on_delete='CASCADE')
        value_text = CharField(max_length=500, null=True)
        value_long = TextField(null=True)
        value_int = BigIntegerField(null=True)
        value_date = DateField(null=True)
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'custom_fields_value'
            indexes = ((('field', 'customer'), True),
                       (('field', 'value_text', 'customer'), False),
                       (('field', 'value_int', 'customer'), False),
                       (('field', 'value_date', 'customer'), False))
    db.create_tables([FieldValue])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('custom_fields_value'))
    migrator.migrate(migrator.drop_table('custom_fields_field'))
