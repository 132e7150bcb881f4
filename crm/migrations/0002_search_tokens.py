"""The customer search index: prefix-searchable tokens (see crm/customers/search_tokens.py).

On PostgreSQL the token column is COLLATE "C" so that range scans follow byte order.
"""
from peewee import *


def up(migrator, db):
    if isinstance(db, PostgresqlDatabase):
        db.execute_sql(
            'CREATE TABLE customer_search_token ('
            ' token VARCHAR(32) COLLATE "C" NOT NULL,'
            ' customer_id INTEGER NOT NULL REFERENCES customer (id) ON DELETE CASCADE,'
            ' PRIMARY KEY (token, customer_id))')
        db.execute_sql('CREATE INDEX customer_search_token_customer_id '
                       'ON customer_search_token (customer_id)')
        return

    class Customer(Model):
        class Meta:
            database = db
            table_name = 'customer'

    class SearchToken(Model):
        token = CharField(max_length=32)
        customer = ForeignKeyField(Customer, on_delete='CASCADE', index=True)

        class Meta:
            database = db
            table_name = 'customer_search_token'
            primary_key = CompositeKey('token', 'customer')
            without_rowid = True
    db.create_tables([SearchToken])
    # Existing customers are indexed by `crm reindex` (a fresh database has none).


def down(migrator, db):
    db.execute_sql('DROP TABLE customer_search_token')
