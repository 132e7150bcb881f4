"""The recommendations' schema as of 1.0 (written after the shape `python -m playhouse.migrations
sqlite:///:memory: initial -d plugins/recommendations/migrations -t migrations_recommendations
plugins.recommendations.models:MODELS` gives; frozen: never edit, add the next migration)."""
from peewee import *

# Time defaults (crm.db.utcnow) are set by the models in Python, not by the schema.


def up(migrator, db):
    class Customer(Model):
        class Meta:
            database = db
            table_name = 'customer'

    class Product(Model):
        class Meta:
            database = db
            table_name = 'product'

    class User(Model):
        class Meta:
            database = db
            table_name = 'user_account'

    class Similarity(Model):
        product_a = ForeignKeyField(Product, backref='+', on_delete='CASCADE')
        product_b = ForeignKeyField(Product, backref='+', on_delete='CASCADE')
        together = IntegerField()
        score = FloatField()
        class Meta:
            database = db
            table_name = 'recommendations_similarity'
            primary_key = CompositeKey('product_a', 'product_b')
    db.create_tables([Similarity])

    class Score(Model):
        customer = ForeignKeyField(Customer, backref='+', on_delete='CASCADE', index=False)
        product = ForeignKeyField(Product, backref='+', on_delete='CASCADE', index=False)
        score = FloatField()
        reason_product = ForeignKeyField(Product, backref='+', null=True, on_delete='SET NULL',
                                         index=False)
        computed_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'recommendations_score'
            indexes = ((('customer', 'score'), False),)
    db.create_tables([Score])

    class Popular(Model):
        segment = CharField(max_length=32)
        product = ForeignKeyField(Product, backref='+', on_delete='CASCADE', index=False)
        buyers = IntegerField()
        score = FloatField()
        class Meta:
            database = db
            table_name = 'recommendations_popular'
            indexes = ((('segment', 'score'), False),)
    db.create_tables([Popular])

    class Shown(Model):
        customer = ForeignKeyField(Customer, backref='+', on_delete='CASCADE', index=False)
        product = ForeignKeyField(Product, backref='+', on_delete='CASCADE', index=True)
        shown_at = DateTimeField()
        window_ends_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'recommendations_shown'
            indexes = ((('customer', 'product'), True),)
    db.create_tables([Shown])

    class Dismissed(Model):
        customer = ForeignKeyField(Customer, backref='+', on_delete='CASCADE', index=False)
        action = CharField(max_length=64)
        user = ForeignKeyField(User, backref='+', null=True, on_delete='SET NULL')
        dismissed_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'recommendations_dismissed'
            indexes = ((('customer', 'action'), True),)
    db.create_tables([Dismissed])

    class Run(Model):
        started_at = DateTimeField()
        as_of = DateTimeField()
        seconds = FloatField(default=0)
        customers = IntegerField(default=0)
        scores = IntegerField(default=0)
        similarities = IntegerField(default=0)
        class Meta:
            database = db
            table_name = 'recommendations_run'
    db.create_tables([Run])


def down(migrator, db):
    for table in ('recommendations_run', 'recommendations_dismissed', 'recommendations_shown',
                  'recommendations_popular', 'recommendations_score',
                  'recommendations_similarity'):
        migrator.migrate(migrator.drop_table(table))
