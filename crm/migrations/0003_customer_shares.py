"""Customers shared with users or departments (row-level visibility, crm/access.py)."""
from peewee import *


def up(migrator, db):
    class Department(Model):
        class Meta:
            database = db
            table_name = 'department'

    class User(Model):
        class Meta:
            database = db
            table_name = 'user_account'

    class Customer(Model):
        class Meta:
            database = db
            table_name = 'customer'

    class CustomerShare(Model):
        id = AutoField()
        customer = ForeignKeyField(Customer, on_delete='CASCADE', index=True)
        user = ForeignKeyField(User, null=True, on_delete='CASCADE', index=True)
        department = ForeignKeyField(Department, null=True, on_delete='CASCADE', index=True)
        created_by = ForeignKeyField(User, null=True, on_delete='SET NULL', backref='+')
        created_at = DateTimeField()

        class Meta:
            database = db
            table_name = 'customer_share'
            indexes = ((('customer', 'user'), True), (('customer', 'department'), True))
    db.create_tables([CustomerShare])


def down(migrator, db):
    db.execute_sql('DROP TABLE customer_share')
