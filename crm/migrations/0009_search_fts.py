"""SQLite: the customer search index becomes an FTS5 table (see crm/customers/search_index.py
for why), filled from the token table it replaces.  PostgreSQL keeps the token table.

The tokens move as they are; tokens of several words (an older version indexed "acme
trading" beside "acme" and "trading") are split into their words, which match the same terms.
"""
from peewee import PostgresqlDatabase

CREATE = (
    "CREATE VIRTUAL TABLE customer_search USING fts5(tokens,"
    " tokenize = \"unicode61 remove_diacritics 0 categories 'L* M* N* P* S* C*'\","
    " prefix = '1 2', detail = none)")
TRIGGER = (
    "CREATE TRIGGER customer_search_forget AFTER DELETE ON customer"
    " BEGIN DELETE FROM customer_search WHERE rowid = old.id; END")


def up(migrator, db):
    if isinstance(db, PostgresqlDatabase):
        return
    try:
        db.execute_sql(CREATE)
    except Exception as exc:  # noqa: BLE001 - a SQLite built without FTS5
        raise RuntimeError(
            "this SQLite has no FTS5 (the customer search index needs it): "
            f"{exc}; use a Python whose sqlite3 module includes FTS5, or PostgreSQL") from exc
    db.execute_sql(TRIGGER)
    db.execute_sql(
        "INSERT INTO customer_search (rowid, tokens)"
        " SELECT customer_id, group_concat(token, ' ') FROM customer_search_token"
        " GROUP BY customer_id")
    db.execute_sql("DROP TABLE customer_search_token")


def down(migrator, db):
    if isinstance(db, PostgresqlDatabase):
        return
    db.execute_sql(
        "CREATE TABLE customer_search_token (token VARCHAR(32) NOT NULL,"
        " customer_id INTEGER NOT NULL REFERENCES customer (id) ON DELETE CASCADE,"
        " PRIMARY KEY (token, customer_id)) WITHOUT ROWID")
    db.execute_sql("CREATE INDEX customer_search_token_customer_id"
                   " ON customer_search_token (customer_id)")
    rows = db.execute_sql("SELECT rowid, tokens FROM customer_search").fetchall()
    pairs = sorted({(token, customer_id) for customer_id, tokens in rows
                    for token in tokens.split()})
    for start in range(0, len(pairs), 10000):
        chunk = pairs[start:start + 10000]
        db.execute_sql("INSERT INTO customer_search_token (token, customer_id) VALUES "
                       + ", ".join(["(?, ?)"] * len(chunk)),
                       [v for pair in chunk for v in pair])
    db.execute_sql("DROP TRIGGER customer_search_forget")
    db.execute_sql("DROP TABLE customer_search")
