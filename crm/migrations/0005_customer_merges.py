"""Customer merges, kept for review (crm/customers/merge.py)."""
from peewee import *


def up(migrator, db):
    class User(Model):
        class Meta:
            database = db
            table_name = 'user_account'

    class Customer(Model):
        class Meta:
            database = db
            table_name = 'customer'

    class CustomerMerge(Model):
        id = AutoField()
        winner = ForeignKeyField(Customer, on_delete='CASCADE', index=True, backref='+')
        loser = ForeignKeyField(Customer, null=True, on_delete='SET NULL', index=True, backref='+')
        user = ForeignKeyField(User, null=True, on_delete='SET NULL', backref='+')
        at = DateTimeField(index=True)
        before = TextField(default='{}')
        taken = TextField(default='[]')
        moved = TextField(default='{}')

        class Meta:
            database = db
            table_name = 'customer_merge'
    db.create_tables([CustomerMerge])


def down(migrator, db):
    db.execute_sql('DROP TABLE customer_merge')
