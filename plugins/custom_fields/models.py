"""The custom fields' tables, prefixed ``custom_fields_``; created by the plugin's migrations.

``custom_fields_field`` holds the definitions; ``custom_fields_value`` one typed row per
(field, customer) that has a value.  A value hangs on the field's id, never on its key or
label, so renaming keeps every value; archiving a field (``archived_at``) hides it and keeps
its values, restoring brings them back.

Where a value lives, by type (see ``types.py``):

* ``value_text``: text, phone (E.164), e-mail, URL, single choice (the option) and multiple
  choice (the chosen options in their defined order, as ``|a|b|``);
* ``value_long``: long text (not indexed: a long text can exceed an index entry's size);
* ``value_int``: integer, money (fen), yes/no (1; "no" is no row);
* ``value_date``: date.

Each of the three indexed columns has a covering index ``(field_id, value_x, customer_id)``:
a list filter is an index range inside one field, read without touching the table, and
``Customer.id IN (...)`` of its result.
"""
from __future__ import annotations

from peewee import (AutoField, BigIntegerField, BooleanField, CharField, DateField,
                    DateTimeField, ForeignKeyField, IntegerField, TextField)

from crm.customers.models import Customer
from crm.db import BaseModel, utcnow


class FieldDef(BaseModel):
    id = AutoField()
    key = CharField(max_length=40, unique=True)     # import/export and filter name: x_cf_<key>
    label_zh = CharField(max_length=60, default="")
    label_en = CharField(max_length=60, default="")
    type = CharField(max_length=12)
    choices = TextField(default="[]")               # JSON [[zh, en], ...]; zh is the stored value
    required = BooleanField(default=False)
    section = CharField(max_length=60, default="")
    view_roles = CharField(max_length=100, default="")   # comma-separated roles; "" = everyone
    edit_roles = CharField(max_length=100, default="")   # "" = whoever may edit the customer
    help_zh = CharField(max_length=300, default="")
    help_en = CharField(max_length=300, default="")
    in_list = BooleanField(default=False)           # a column of the customer list
    filterable = BooleanField(default=True)         # a filter of the customer list
    position = IntegerField(default=100)
    former_labels = TextField(default="[]")         # JSON: labels before a rename (anonymising)
    archived_at = DateTimeField(null=True, index=True)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)
    version = IntegerField(default=1)

    class Meta:
        table_name = "custom_fields_field"


class FieldValue(BaseModel):
    id = AutoField()
    field = ForeignKeyField(FieldDef, backref="+", on_delete="CASCADE", index=False)
    customer = ForeignKeyField(Customer, backref="+", on_delete="CASCADE", index=True)
    value_text = CharField(max_length=500, null=True)
    value_long = TextField(null=True)
    value_int = BigIntegerField(null=True)
    value_date = DateField(null=True)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "custom_fields_value"
        indexes = ((("field", "customer"), True),
                   (("field", "value_text", "customer"), False),
                   (("field", "value_int", "customer"), False),
                   (("field", "value_date", "customer"), False))


MODELS = [FieldDef, FieldValue]
