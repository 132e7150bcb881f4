"""Marketing spend per acquisition channel and month, for the customer acquisition cost
(frozen: never edit, add the next one)."""
from peewee import *


def up(migrator, db):
    class MarketingSpend(Model):
        id = AutoField()
        channel = CharField(max_length=50)
        month = DateField()
        amount_fen = BigIntegerField(default=0)
        note = CharField(max_length=300, default='')
        entered_by = IntegerField(null=True)
        entered_at = DateTimeField()
        version = IntegerField(default=1)
        class Meta:
            database = db
            table_name = 'insights_marketing_spend'
            indexes = ((('channel', 'month'), True), (('month',), False))
    db.create_tables([MarketingSpend])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('insights_marketing_spend'))
