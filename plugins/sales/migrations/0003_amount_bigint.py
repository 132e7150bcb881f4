"""A deal's amount (integer fen) as a 64-bit integer on PostgreSQL: the form takes up to 10^11
yuan, and a 32-bit INTEGER stops at 21,474,836.47.  SQLite's INTEGER is already 64-bit."""
from peewee import PostgresqlDatabase


def up(migrator, db):
    if isinstance(db, PostgresqlDatabase):
        db.execute_sql('ALTER TABLE "sales_deal" ALTER COLUMN "amount_fen" TYPE BIGINT')


def down(migrator, db):
    if isinstance(db, PostgresqlDatabase):
        db.execute_sql('ALTER TABLE "sales_deal" ALTER COLUMN "amount_fen" TYPE INTEGER')
