"""Money (integer fen) in the ledger and the cash redemptions as 64-bit integers on PostgreSQL,
like the purchases they come from (core migration 0008).  SQLite's INTEGER is already 64-bit."""
from peewee import PostgresqlDatabase

COLUMNS = (("loyalty_entry", "spend_fen"), ("loyalty_redemption", "cash_fen"))


def up(migrator, db):
    if isinstance(db, PostgresqlDatabase):
        for table, column in COLUMNS:
            db.execute_sql(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" TYPE BIGINT')


def down(migrator, db):
    if isinstance(db, PostgresqlDatabase):
        for table, column in COLUMNS:
            db.execute_sql(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" TYPE INTEGER')
