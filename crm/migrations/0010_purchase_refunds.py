"""Refunds of purchases (crm/purchases/services.py ``refund_purchase``): each refund returns
some quantity of some lines (or all of them), with a reason, by someone, at a time.  The
purchase keeps the refunded amount so far (``refunded_fen``: its net amount is ``total_fen -
refunded_fen``), each line the quantity returned so far; the status (completed | refunded,
there from the start) becomes ``refunded`` when everything has been returned."""
from peewee import *


def up(migrator, db):
    class User(Model):
        class Meta:
            database = db
            table_name = 'user_account'

    class Purchase(Model):
        class Meta:
            database = db
            table_name = 'purchase'

    class PurchaseRefund(Model):
        id = AutoField()
        purchase = ForeignKeyField(Purchase, on_delete='CASCADE', index=True, backref='+')
        amount_fen = BigIntegerField()
        reason = CharField(max_length=300)
        lines = TextField(default='[]')    # [{"line_id", "product_id", "quantity", "amount_fen"}]
        user = ForeignKeyField(User, null=True, on_delete='SET NULL', backref='+')
        created_at = DateTimeField(index=True)

        class Meta:
            database = db
            table_name = 'purchase_refund'

    migrator.migrate(
        # a default in the database too: the bulk path (COPY, multi-row INSERT) names its columns
        migrator.add_column('purchase', 'refunded_fen',
                            BigIntegerField(default=0, constraints=[SQL('DEFAULT 0')])),
        migrator.add_column('purchase_line', 'returned_quantity',
                            IntegerField(default=0, constraints=[SQL('DEFAULT 0')])),
    )
    db.create_tables([PurchaseRefund])


def down(migrator, db):
    db.execute_sql('DROP TABLE purchase_refund')
    migrator.migrate(
        migrator.drop_column('purchase_line', 'returned_quantity'),
        migrator.drop_column('purchase', 'refunded_fen'),
    )
