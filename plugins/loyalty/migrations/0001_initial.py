"""The loyalty plugin's schema as of 1.0 (frozen: never edit; add 0002_... instead).

Generated with `python -m playhouse.migrations sqlite:///:memory: initial -d
plugins/loyalty/migrations -t migrations_loyalty plugins.loyalty.models:MODELS`, then by hand:
the CHECK constraints (the generator leaves them out), the triggers that make the ledger and
its allocations append-only, and the programme's default settings, tiers and earning rules.
Time defaults (crm.db.utcnow) are set by the models in Python, not by the schema.
"""
from peewee import *
from peewee import PostgresqlDatabase

APPEND_ONLY = ("loyalty_entry", "loyalty_allocation")

DEFAULT_TIERS = [
    # code, name, name_en, rank, basis, threshold (fen of qualifying spend), multiplier %,
    # discount %, birthday points
    ("standard", "普通", "Standard", 0, "spend", 0, 100, 0, 0),
    ("silver", "银卡", "Silver", 1, "spend", 200000, 120, 2, 50),
    ("gold", "金卡", "Gold", 2, "spend", 1000000, 150, 5, 100),
    ("diamond", "钻石卡", "Diamond", 3, "spend", 5000000, 200, 10, 200),
]
DEFAULT_RULES = [
    # kind, points, rate (points per yuan), active
    ("purchase", 0, 1, True),
    ("checkin", 5, 0, True),
    ("review", 20, 0, True),
    ("birthday", 100, 0, True),
]


def up(migrator, db):
    class Customer(Model):
        class Meta:
            database = db
            table_name = 'customer'

    class LoyaltyTier(Model):
        code = CharField(unique=True, max_length=20)
        name = CharField(max_length=50)
        name_en = CharField(max_length=50, default='')
        rank = IntegerField(unique=True)
        basis = CharField(max_length=10, default='spend')
        threshold = IntegerField(default=0, constraints=[Check('threshold >= 0')])
        multiplier_pct = IntegerField(default=100, constraints=[Check('multiplier_pct >= 0')])
        discount_pct = IntegerField(default=0, constraints=[Check('discount_pct >= 0 AND discount_pct <= 100')])
        birthday_points = IntegerField(default=0, constraints=[Check('birthday_points >= 0')])
        version = IntegerField(default=1)
        class Meta:
            database = db
            table_name = 'loyalty_tier'
    db.create_tables([LoyaltyTier])

    class LoyaltyMember(Model):
        customer = ForeignKeyField(Customer, unique=True, on_delete='RESTRICT')
        card_no = CharField(unique=True, max_length=24)
        tier = ForeignKeyField(LoyaltyTier, on_delete='RESTRICT')
        tier_since = DateTimeField()
        grace_until = DateTimeField(null=True)
        balance = IntegerField(default=0, constraints=[Check('balance >= 0')])
        pending = IntegerField(default=0, constraints=[Check('pending >= 0')])
        owed = IntegerField(default=0, constraints=[Check('owed >= 0')])
        birthday = DateField(null=True)
        consent = BooleanField(default=False)
        consent_at = DateTimeField(null=True)
        enrolled_at = DateTimeField(index=True)
        enrolled_by = IntegerField(null=True)
        enrol_key = CharField(null=True, unique=True, max_length=40)
        last_activity_at = DateTimeField(index=True, null=True)
        version = IntegerField(default=1)
        class Meta:
            database = db
            table_name = 'loyalty_member'
    db.create_tables([LoyaltyMember])

    class LoyaltyEntry(Model):
        member = ForeignKeyField(LoyaltyMember, on_delete='RESTRICT')
        key = CharField(unique=True, max_length=120)
        kind = CharField(max_length=40)
        points = IntegerField(default=0)
        pending = IntegerField(default=0)
        owed = IntegerField(default=0)
        balance_after = IntegerField(default=0)
        pending_after = IntegerField(default=0)
        spend_fen = IntegerField(default=0)
        earned = IntegerField(default=0)
        qualify_at = DateTimeField()
        purchase_id = IntegerField(index=True, null=True)
        lot_id = IntegerField(null=True)
        reason = CharField(max_length=300, default='')
        user_id = IntegerField(null=True)
        event_uid = CharField(null=True, max_length=36)
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'loyalty_entry'
            indexes = ((('member', 'created_at'), False), (('member', 'qualify_at'), False))
    db.create_tables([LoyaltyEntry])

    class LoyaltyLot(Model):
        member = ForeignKeyField(LoyaltyMember, on_delete='RESTRICT')
        entry = ForeignKeyField(LoyaltyEntry, unique=True, on_delete='RESTRICT')
        points = IntegerField(constraints=[Check('points > 0')])
        remaining = IntegerField(constraints=[Check('remaining >= 0 AND remaining <= points')])
        released = BooleanField(default=False)
        available_at = DateTimeField()
        expires_at = DateTimeField(null=True)
        purchase_id = IntegerField(index=True, null=True)
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'loyalty_lot'
            indexes = ((('member', 'released', 'expires_at'), False),)
    db.create_tables([LoyaltyLot])

    class LoyaltyAllocation(Model):
        entry = ForeignKeyField(LoyaltyEntry, on_delete='RESTRICT')
        lot = ForeignKeyField(LoyaltyLot, on_delete='RESTRICT')
        points = IntegerField(constraints=[Check('points > 0')])
        class Meta:
            database = db
            table_name = 'loyalty_allocation'
    db.create_tables([LoyaltyAllocation])

    class LoyaltyGift(Model):
        name = CharField(max_length=100)
        name_en = CharField(max_length=100, default='')
        points = IntegerField(constraints=[Check('points > 0')])
        stock = IntegerField(default=0, constraints=[Check('stock >= 0')])
        active = BooleanField(default=True)
        created_at = DateTimeField()
        version = IntegerField(default=1)
        class Meta:
            database = db
            table_name = 'loyalty_gift'
    db.create_tables([LoyaltyGift])

    class LoyaltyProgram(Model):
        pending_days = IntegerField(default=7)
        expiry_mode = CharField(max_length=10, default='days')
        expiry_days = IntegerField(default=365)
        expiry_years = IntegerField(default=1)
        cash_points_per_yuan = IntegerField(default=100)
        window_days = IntegerField(default=365)
        downgrade_policy = CharField(max_length=10, default='step')
        grace_days = IntegerField(default=30)
        card_prefix = CharField(max_length=6, default='88')
        version = IntegerField(default=1)
        class Meta:
            database = db
            table_name = 'loyalty_program'
    db.create_tables([LoyaltyProgram])

    class LoyaltyCounterPurchase(Model):
        key = CharField(unique=True, max_length=120)
        member = ForeignKeyField(LoyaltyMember, on_delete='RESTRICT')
        purchase_id = IntegerField(index=True)
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'loyalty_counter_purchase'
    db.create_tables([LoyaltyCounterPurchase])

    class LoyaltyReconciliation(Model):
        started_at = DateTimeField()
        finished_at = DateTimeField(null=True)
        members = IntegerField(default=0)
        released = IntegerField(default=0)
        expired = IntegerField(default=0)
        downgraded = IntegerField(default=0)
        birthdays = IntegerField(default=0)
        differences = IntegerField(default=0)
        report = CharField(max_length=4000, default='')
        class Meta:
            database = db
            table_name = 'loyalty_reconciliation'
    db.create_tables([LoyaltyReconciliation])

    class LoyaltyRedemption(Model):
        member = ForeignKeyField(LoyaltyMember, on_delete='RESTRICT')
        entry = ForeignKeyField(LoyaltyEntry, unique=True, on_delete='RESTRICT')
        kind = CharField(max_length=10)
        gift = ForeignKeyField(LoyaltyGift, null=True, on_delete='RESTRICT')
        quantity = IntegerField(default=1)
        points = IntegerField()
        cash_fen = IntegerField(default=0)
        user_id = IntegerField(null=True)
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'loyalty_redemption'
    db.create_tables([LoyaltyRedemption])

    class LoyaltyRule(Model):
        kind = CharField(unique=True, max_length=40)
        points = IntegerField(default=0, constraints=[Check('points >= 0')])
        rate = IntegerField(default=0, constraints=[Check('rate >= 0')])
        active = BooleanField(default=True)
        version = IntegerField(default=1)
        class Meta:
            database = db
            table_name = 'loyalty_rule'
    db.create_tables([LoyaltyRule])

    class LoyaltyTierChange(Model):
        member = ForeignKeyField(LoyaltyMember, on_delete='RESTRICT')
        from_tier = IntegerField(null=True)
        to_tier = IntegerField()
        kind = CharField(max_length=12)
        reason = CharField(max_length=300, default='')
        user_id = IntegerField(null=True)
        at = DateTimeField()
        class Meta:
            database = db
            table_name = 'loyalty_tier_change'
            indexes = ((('member', 'at'), False),)
    db.create_tables([LoyaltyTierChange])


    # The ledger and its allocations are append-only: the database itself refuses to change
    # or remove a row, whatever the code does.
    if isinstance(db, PostgresqlDatabase):
        db.execute_sql(
            "CREATE OR REPLACE FUNCTION loyalty_append_only() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION USING MESSAGE = TG_TABLE_NAME || ' is append-only'; "
            "END $$ "
            "LANGUAGE plpgsql")
        for table in APPEND_ONLY:
            db.execute_sql(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE "
                           f"ON {table} FOR EACH ROW EXECUTE FUNCTION loyalty_append_only()")
    else:
        for table in APPEND_ONLY:
            for event in ("UPDATE", "DELETE"):
                db.execute_sql(f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} "
                               f"ON {table} BEGIN SELECT RAISE(ABORT, "
                               f"'{table} is append-only'); END")

    LoyaltyProgram.insert(id=1).execute()
    for code, name, name_en, rank, basis, threshold, multiplier, discount, birthday in \
            DEFAULT_TIERS:
        LoyaltyTier.insert(code=code, name=name, name_en=name_en, rank=rank, basis=basis,
                           threshold=threshold, multiplier_pct=multiplier,
                           discount_pct=discount, birthday_points=birthday).execute()
    for kind, points, rate, active in DEFAULT_RULES:
        LoyaltyRule.insert(kind=kind, points=points, rate=rate, active=active).execute()


def down(migrator, db):
    if isinstance(db, PostgresqlDatabase):
        for table in APPEND_ONLY:
            db.execute_sql(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        db.execute_sql("DROP FUNCTION IF EXISTS loyalty_append_only()")
    else:
        for table in APPEND_ONLY:
            for event in ("update", "delete"):
                db.execute_sql(f"DROP TRIGGER IF EXISTS {table}_no_{event}")

    migrator.migrate(migrator.drop_table('loyalty_tier_change'))
    migrator.migrate(migrator.drop_table('loyalty_rule'))
    migrator.migrate(migrator.drop_table('loyalty_redemption'))
    migrator.migrate(migrator.drop_table('loyalty_reconciliation'))
    migrator.migrate(migrator.drop_table('loyalty_counter_purchase'))
    migrator.migrate(migrator.drop_table('loyalty_program'))
    migrator.migrate(migrator.drop_table('loyalty_gift'))
    migrator.migrate(migrator.drop_table('loyalty_allocation'))
    migrator.migrate(migrator.drop_table('loyalty_lot'))
    migrator.migrate(migrator.drop_table('loyalty_entry'))
    migrator.migrate(migrator.drop_table('loyalty_member'))
    migrator.migrate(migrator.drop_table('loyalty_tier'))
