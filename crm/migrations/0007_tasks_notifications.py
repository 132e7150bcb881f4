"""Tasks (crm/tasks/) and in-app notifications (crm/notifications/); an index for the
dashboard's customers-by-value-class card, and the two list indexes the Customer model
declared but no migration had made (tests/core/test_schema.py now checks every model)."""
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

    class Task(Model):
        id = AutoField()
        title = CharField(max_length=200)
        notes = TextField(default='')
        customer = ForeignKeyField(Customer, null=True, on_delete='CASCADE', backref='+')
        owner = ForeignKeyField(User, null=True, on_delete='SET NULL', backref='+')
        due_on = DateField(null=True)
        done_at = DateTimeField(null=True)
        done_by = ForeignKeyField(User, null=True, on_delete='SET NULL', backref='+')
        created_by = ForeignKeyField(User, null=True, on_delete='SET NULL', backref='+')
        source = CharField(max_length=40, default='')
        key = CharField(max_length=120, null=True, unique=True)
        created_at = DateTimeField()

        class Meta:
            database = db
            table_name = 'task'
            indexes = ((('owner', 'done_at', 'due_on'), False), (('customer', 'done_at'), False))

    class Notification(Model):
        id = AutoField()
        user = ForeignKeyField(User, on_delete='CASCADE', backref='+')
        kind = CharField(max_length=40, default='')
        message = CharField(max_length=255)
        params = TextField(default='{}')
        url = CharField(max_length=500, default='')
        key = CharField(max_length=160, null=True)
        created_at = DateTimeField()
        read_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = 'notification'
            indexes = ((('user', 'read_at'), False), (('user', 'key'), True))
    db.create_tables([Task, Notification])
    migrator.migrate(
        migrator.add_index('customer', ('deleted_at', 'value_class')),
        # declared by the Customer model since 0001 but never created by a migration: the
        # default list (live customers, newest first) and the list sorted by name
        migrator.add_index('customer', ('deleted_at', 'created_at', 'id')),
        migrator.add_index('customer', ('deleted_at', 'name', 'id')),
    )


def down(migrator, db):
    for name in ('customer_deleted_at_value_class', 'customer_deleted_at_created_at_id',
                 'customer_deleted_at_name_id'):
        migrator.migrate(migrator.drop_index('customer', name))
    db.execute_sql('DROP TABLE notification')
    db.execute_sql('DROP TABLE task')
