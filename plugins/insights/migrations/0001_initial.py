"""The insights plugin's schema as of 0.1 (frozen: never edit, add the next migration)."""
from peewee import *

# Time defaults (crm.db.utcnow) are set by the models in Python, not by the schema.


def up(migrator, db):
    class CustomerScore(Model):
        customer_id = IntegerField(primary_key=True)
        r = IntegerField(default=0)
        f = IntegerField(default=0)
        m = IntegerField(default=0)
        rfm = IntegerField(default=0)
        segment = CharField(index=True, max_length=16, default='other')
        reason = CharField(max_length=32, default='none')
        purchases = IntegerField(default=0)
        monetary_fen = IntegerField(default=0)
        first_purchase_at = DateTimeField(null=True)
        last_purchase_at = DateTimeField(null=True)
        last_contact_at = DateTimeField(null=True)
        recent_activities = IntegerField(default=0)
        previous_activities = IntegerField(default=0)
        computed_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'insights_customer_score'
    db.create_tables([CustomerScore])

    class SegmentSnapshot(Model):
        day = DateField()
        segment = CharField(max_length=16)
        owner_id = IntegerField(default=0)
        customers = IntegerField(default=0)
        class Meta:
            database = db
            table_name = 'insights_segment_snapshot'
            primary_key = CompositeKey('day', 'segment', 'owner_id')
    db.create_tables([SegmentSnapshot])

    class Setting(Model):
        key = CharField(max_length=32, primary_key=True)
        value = IntegerField()
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'insights_setting'
    db.create_tables([Setting])

    class Target(Model):
        kpi = CharField(max_length=32, primary_key=True)
        value = DecimalField(max_digits=14, decimal_places=2)
        deadline = DateField(null=True)
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'insights_target'
    db.create_tables([Target])


def down(migrator, db):
    for table in ('insights_target', 'insights_setting', 'insights_segment_snapshot',
                  'insights_customer_score'):
        migrator.migrate(migrator.drop_table(table))
