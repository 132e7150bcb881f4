"""Where the customers' search tokens (customers/search_tokens.py) are kept, and how a query's
terms are looked up in them.  A term matches a customer when one of its tokens starts with the
term; every term must match.

* SQLite: the FTS5 table ``customer_search``, one row per customer (``rowid`` = the customer's
  id) whose one column holds its tokens separated by spaces.  The tokenizer splits on spaces
  only (``unicode61`` with every category but Z*: a token's punctuation, ``@`` and ``_`` stay
  in it), ``detail=none`` keeps only which customers hold a token, and prefix indexes of one
  and two characters answer the short terms (``z``, ``张``, ``zw``) without merging thousands
  of tokens.  A trigger removes a customer's row when the customer is deleted.
  Why not a table of (token, customer) pairs as on PostgreSQL: each import batch then inserts
  ~50,000 keys spread over the whole B-tree and its COMMIT rewrites most of its leaf pages;
  FTS5 writes a batch as one new sorted segment and merges segments in the background.  For
  100,000 customers (2.5 million tokens) that is 3.0 s instead of 10.6 s, searches as fast or
  faster, a third of the size (bench/RESULTS.md).
* PostgreSQL: the table ``customer_search_token`` (token ``COLLATE "C"``, customer), primary
  key (token, customer): a term is the range ``token >= t AND token < t || U+FFFF``.
"""
from __future__ import annotations

import functools
import operator
from typing import Iterable

from peewee import SQL

from crm.customers.models import Customer, SearchToken
from crm.customers.search_tokens import MAX_TOKEN, clean_token
from crm.db import database, is_postgres

FTS_TABLE = "customer_search"
# SQLite's limit is 32,766 host parameters since 3.32; two per row, well under it.
_ROWS_PER_INSERT = 2000


def uses_fts() -> bool:
    return not is_postgres()


def _document(tokens: Iterable[str]) -> str:
    return " ".join(t for t in tokens if t)


def _quoted(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


# -- writing ------------------------------------------------------------------------------------

def replace(customer_id: int, tokens: Iterable[str]) -> None:
    """Make ``tokens`` the customer's only tokens (in the caller's transaction)."""
    tokens = sorted({t for t in tokens if t})
    if uses_fts():
        database.execute_sql(f"DELETE FROM {FTS_TABLE} WHERE rowid = ?", [customer_id])
        database.execute_sql(f"INSERT INTO {FTS_TABLE} (rowid, tokens) VALUES (?, ?)",
                             [customer_id, _document(tokens)])
        return
    SearchToken.delete().where(SearchToken.customer == customer_id).execute()
    for start in range(0, len(tokens), 200):
        SearchToken.insert_many([(t, customer_id) for t in tokens[start:start + 200]],
                                fields=[SearchToken.token, SearchToken.customer]).execute()


def add_many(rows: list[tuple[int, Iterable[str]]]) -> None:
    """Index customers that have no tokens yet (the bulk path): ``(customer id, tokens)``."""
    if not rows:
        return
    if uses_fts():
        for start in range(0, len(rows), _ROWS_PER_INSERT):
            chunk = rows[start:start + _ROWS_PER_INSERT]
            params = []
            for customer_id, tokens in chunk:
                params += [customer_id, _document(tokens)]
            database.execute_sql(f"INSERT INTO {FTS_TABLE} (rowid, tokens) VALUES "
                                 + ", ".join(["(?, ?)"] * len(chunk)), params)
        return
    from crm.bulk import insert_rows
    pairs = sorted({(t, customer_id) for customer_id, tokens in rows for t in tokens if t})
    insert_rows(SearchToken, [SearchToken.token, SearchToken.customer], pairs)


def clear() -> None:
    if uses_fts():
        database.execute_sql(f"DELETE FROM {FTS_TABLE}")
    else:
        SearchToken.delete().execute()


# -- reading ------------------------------------------------------------------------------------

def _terms(terms: Iterable[str]) -> list[str]:
    return [t for t in (clean_token(term)[:MAX_TOKEN] for term in terms) if t]


def condition(terms: Iterable[str]):
    """A WHERE condition on ``Customer``: it has, for every term, a token starting with it.
    ``None`` when no term is left (nothing to filter on)."""
    terms = _terms(terms)
    if not terms:
        return None
    if uses_fts():
        return _matching(" AND ".join(_quoted(t) + "*" for t in terms))
    return functools.reduce(operator.and_, (Customer.id.in_(_token_range(t)) for t in terms))


def _matching(expression: str):
    """``Customer.id IN`` the customers whose FTS5 row matches ``expression``."""
    return Customer.id.in_(SQL(f"(SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ?)",
                               [expression]))


def _token_range(term: str):
    """The customers with a token in ``[term, term + U+FFFF)``, fenced with ``OFFSET 0``:
    otherwise, for a term with few matches (``ff``: 403 tokens), the planner may walk every
    customer newest first and probe each one's tokens until it has a page (3.7 s at 100,000
    customers) instead of reading the few matches once (60 ms)."""
    return (SearchToken.select(SearchToken.customer)
            .where((SearchToken.token >= term) & (SearchToken.token < term + "\uffff"))
            .offset(0))


def holding(token: str):
    """A WHERE condition on ``Customer``: it has exactly this token (not only one starting
    with it)."""
    token = clean_token(token)[:MAX_TOKEN]
    if uses_fts():
        return _matching(_quoted(token))
    return Customer.id.in_(SearchToken.select(SearchToken.customer)
                           .where(SearchToken.token == token))


def tokens_of(customer_id: int) -> set[str]:
    """The customer's tokens as stored (for tests and for checking an index by hand)."""
    if uses_fts():
        row = database.execute_sql(f"SELECT tokens FROM {FTS_TABLE} WHERE rowid = ?",
                                   [customer_id]).fetchone()
        return set(row[0].split()) if row else set()
    return {t for (t,) in SearchToken.select(SearchToken.token)
            .where(SearchToken.customer == customer_id).tuples()}


def indexed_customers() -> int:
    """How many customers have an entry in the index."""
    if uses_fts():
        return database.execute_sql(f"SELECT COUNT(*) FROM {FTS_TABLE}").fetchone()[0]
    return SearchToken.select(SearchToken.customer).distinct().count()

