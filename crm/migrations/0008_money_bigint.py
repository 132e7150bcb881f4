"""Money columns (integer fen) as 64-bit integers on PostgreSQL: a 32-bit INTEGER stops at
21,474,836.47 yuan, which a purchase total or a B2B deal can pass (the insert then fails).
SQLite's INTEGER is already 64-bit: nothing to do there."""
from peewee import PostgresqlDatabase

COLUMNS = (("product", "price_fen"), ("purchase", "total_fen"),
           ("purchase_line", "unit_price_fen"), ("purchase_line", "amount_fen"))


def up(migrator, db):
    if isinstance(db, PostgresqlDatabase):
        for table, column in COLUMNS:
            db.execute_sql(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" TYPE BIGINT')


def down(migrator, db):
    if isinstance(db, PostgresqlDatabase):
        for table, column in COLUMNS:
            db.execute_sql(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" TYPE INTEGER')
