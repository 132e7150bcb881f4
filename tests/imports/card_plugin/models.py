from peewee import AutoField, CharField, ForeignKeyField

from crm.customers.models import Customer
from crm.db import BaseModel


class Card(BaseModel):
    id = AutoField()
    customer = ForeignKeyField(Customer, unique=True, on_delete="CASCADE")
    number = CharField(max_length=8)

    class Meta:
        table_name = "cardx_card"
