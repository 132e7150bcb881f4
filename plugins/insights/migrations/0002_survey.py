"""NPS and CSAT surveys sent as signed short links (frozen: never edit, add the next one)."""
from peewee import *


def up(migrator, db):
    class Customer(Model):
        class Meta:
            database = db
            table_name = 'customer'

    class Survey(Model):
        id = AutoField()
        customer = ForeignKeyField(Customer, on_delete='CASCADE')
        kind = CharField(max_length=8)
        created_by = IntegerField(null=True)
        created_at = DateTimeField()
        expires_at = DateTimeField()
        answered_at = DateTimeField(index=True, null=True)
        score = IntegerField(null=True)
        comment = TextField(default='')
        class Meta:
            database = db
            table_name = 'insights_survey'
    db.create_tables([Survey])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('insights_survey'))
