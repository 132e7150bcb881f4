"""The sales pipeline's schema as of 1.0 and its default stages (generated with `python -m
playhouse.migrations sqlite:///:memory: initial -d plugins/sales/migrations -t migrations_sales
plugins.sales.models:MODELS`, then the default stages added; frozen: never edit)."""
from peewee import *

# Time defaults (crm.db.utcnow) are set by the models in Python, not by the schema.


def up(migrator, db):
    class Contact(Model):
        class Meta:
            database = db
            table_name = 'contact'

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

    class Stage(Model):
        name = CharField(max_length=50)
        position = IntegerField(index=True, default=0)
        probability = IntegerField(default=0)
        kind = CharField(max_length=8, default='open')
        rules = CharField(max_length=100, default='')
        stuck_days = IntegerField(default=14)
        active = BooleanField(default=True)
        class Meta:
            database = db
            table_name = 'sales_stage'
    db.create_tables([Stage])

    class Deal(Model):
        customer = ForeignKeyField(Customer, on_delete='CASCADE')
        contact = ForeignKeyField(Contact, null=True, on_delete='SET NULL')
        title = CharField(max_length=200)
        amount_fen = IntegerField(default=0)
        expected_close = DateField(index=True, null=True)
        owner = ForeignKeyField(User, null=True, on_delete='SET NULL')
        probability = IntegerField(null=True)
        stage = ForeignKeyField(Stage, on_delete='RESTRICT')
        stage_entered_at = DateTimeField()
        source = CharField(max_length=20, default='')
        reason = TextField(default='')
        notes = TextField(default='')
        created_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        created_at = DateTimeField(index=True)
        updated_at = DateTimeField()
        closed_at = DateTimeField(index=True, null=True)
        version = IntegerField(default=1)
        class Meta:
            database = db
            table_name = 'sales_deal'
    db.create_tables([Deal])

    class DealProduct(Model):
        deal = ForeignKeyField(Deal, on_delete='CASCADE')
        product = ForeignKeyField(Product, on_delete='RESTRICT')
        class Meta:
            database = db
            table_name = 'sales_deal_product'
            indexes = ((('deal', 'product'), True),)
    db.create_tables([DealProduct])

    class StageHistory(Model):
        deal = ForeignKeyField(Deal, on_delete='CASCADE')
        stage = ForeignKeyField(Stage, on_delete='RESTRICT')
        entered_at = DateTimeField()
        left_at = DateTimeField(null=True)
        user = ForeignKeyField(User, null=True, on_delete='SET NULL')
        class Meta:
            database = db
            table_name = 'sales_stage_history'
    db.create_tables([StageHistory])

    # the default pipeline (an administrator renames, reorders and adds stages)
    Stage.insert_many([
        ('初步接触', 10, 10, 'open', '', 14, True),
        ('需求分析', 20, 20, 'open', '', 14, True),
        ('方案报价', 30, 40, 'open', 'amount', 14, True),
        ('合同签订', 40, 70, 'open', 'amount,close_date', 21, True),
        ('回款完成', 50, 100, 'won', 'amount', 30, True),
        ('输单', 60, 0, 'lost', 'reason', 30, True),
    ], fields=[Stage.name, Stage.position, Stage.probability, Stage.kind, Stage.rules,
               Stage.stuck_days, Stage.active]).execute()


def down(migrator, db):
    migrator.migrate(migrator.drop_table('sales_stage_history'))
    migrator.migrate(migrator.drop_table('sales_deal_product'))
    migrator.migrate(migrator.drop_table('sales_deal'))
    migrator.migrate(migrator.drop_table('sales_stage'))
