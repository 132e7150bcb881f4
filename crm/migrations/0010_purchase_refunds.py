"""Refunds of purchases (crm/purchases/services.py ``refund_purchase``): when, by whom, why.
The status column (completed | refunded) was there from the start."""
from peewee import *


def up(migrator, db):
    class User(Model):
        class Meta:
            database = db
            table_name = 'user_account'

    migrator.migrate(
        migrator.add_column('purchase', 'refunded_at', DateTimeField(null=True)),
        migrator.add_column('purchase', 'refunded_by_id', ForeignKeyField(
            User, null=True, on_delete='SET NULL', field=User._meta.primary_key)),
        migrator.add_column('purchase', 'refund_reason', CharField(max_length=300, default='')),
    )


def down(migrator, db):
    # add_column indexed the foreign key; SQLite cannot drop a column an index still names
    db.execute_sql('DROP INDEX IF EXISTS purchase_refunded_by_id')
    migrator.migrate(
        migrator.drop_column('purchase', 'refund_reason'),
        migrator.drop_column('purchase', 'refunded_by_id'),
        migrator.drop_column('purchase', 'refunded_at'),
    )
