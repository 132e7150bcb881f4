"""A stage may notify a role when a deal enters it (the contract stage notifies the managers)."""
from peewee import *


def up(migrator, db):
    migrator.migrate(
        migrator.add_column('sales_stage', 'notify_role', CharField(max_length=16, default='')),
    )
    db.execute_sql("UPDATE sales_stage SET notify_role = 'manager' WHERE name = '合同签订'")


def down(migrator, db):
    migrator.migrate(migrator.drop_column('sales_stage', 'notify_role'))
