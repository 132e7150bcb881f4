"""The search index (crm/customers/search_index.py): FTS5 on SQLite, a token table on
PostgreSQL.  What a query's terms can hold, what happens to the index when a customer goes,
and the migration that moved SQLite's tokens into FTS5."""
from __future__ import annotations

import pytest

from crm.access import scoped_customers
from crm.customers import queries, search_index, search_tokens, services
from crm.db import database, is_postgres
from tests.core.test_search import found


def test_query_syntax_of_the_index_is_plain_text(client, login, seed):
    """FTS5 has its own query language (AND, OR, NOT, NEAR, quotes, ``*``, ``^``, ``-``,
    ``:``, parentheses): a user's term is never read as it."""
    seed.customer("Dr. Not", email="not@example.com")
    seed.customer("A+B 贸易", phone="13800001111")
    seed.customer("Near (Hangzhou) Co:Ltd", email="x^y@example.com")
    login("admin")
    assert found(client, "not") == ["Dr. Not"]
    assert found(client, "NOT") == ["Dr. Not"]
    assert found(client, "dr. not") == ["Dr. Not"]
    assert found(client, "a+b") == ["A+B 贸易"]
    assert found(client, "a+b 贸易") == ["A+B 贸易"]
    assert found(client, "(hangzhou)") == ["Near (Hangzhou) Co:Ltd"]
    assert found(client, "co:ltd") == ["Near (Hangzhou) Co:Ltd"]
    assert found(client, "x^y") == ["Near (Hangzhou) Co:Ltd"]
    near = ["Near (Hangzhou) Co:Ltd"]
    expected = {"AND": [], "OR": [], "NEAR": near, "NEAR(": [], "near (": near,
                "a OR b": [], "-": [], "^": [], ":": [], "(": near, ")": [], '"': [], '""': [],
                "*": [], "not*": [], '"not"': [], "tokens:not": [], "{tokens}": [],
                "dr. OR": []}
    wrong = {q: got for q, want in expected.items() if (got := found(client, q)) != want}
    assert not wrong, wrong     # "*" is a character, not "any ending"; quotes are characters


def test_separators_inside_a_term_are_ignored(client, login, seed):
    """A term holds no separator (the index's tokens hold none): U+180E, which SQLite's
    tokenizer counts as a space, and the no-break spaces are dropped from a term."""
    seed.customer("张伟")
    login("admin")
    assert found(client, "zhang\u180ewei") == ["张伟"]
    assert found(client, "zhang\u00a0wei") == ["张伟"]
    assert found(client, "\u180e") == ["张伟"]          # nothing left: no filter


def test_every_token_is_one_word():
    class C:
        name = "Acme  Trading\u3000Ltd"
        number = "C2026120001"
        phone = "+8613812345678"
        email = "a.b@example.com"
    contact = type("Contact", (), dict(name="李 雷", mobile="", phone="", email=""))()
    tokens = search_tokens.customer_tokens(C(), [contact])
    assert tokens and all(t == search_tokens.clean_token(t) for t in tokens)
    assert {"acme", "trading", "ltd", "李雷", "lilei", "ll", "雷"} <= tokens


def test_a_purged_customer_leaves_the_index(seed):
    customer = seed.customer("单丽", phone="13987654321")
    kept = seed.customer("张伟")
    admin = seed.user("admin")
    with seed.ctx():
        assert search_index.tokens_of(customer.id) >= {"单丽", "shanli", "danli", "4321"}
        before = search_index.indexed_customers()
        services.trash(customer, admin)
        assert search_index.tokens_of(customer.id)   # in the trash: still indexed (restorable)
        services.purge(customer, admin)
        assert search_index.tokens_of(customer.id) == set()
        assert search_index.indexed_customers() == before - 1
        assert search_index.tokens_of(kept.id)


def test_duplicate_warning_uses_exact_pinyin(seed):
    """``holding`` is an exact token: 章伟 is flagged as a possible duplicate of 张伟 (same full
    pinyin), 张伟华 is not (its pinyin only starts with zhangwei)."""
    seed.customer("张伟华")
    original = seed.customer("张伟")
    admin = seed.user("admin")
    with seed.ctx():
        found_ = services.likely_duplicates(scoped_customers(admin), name="章伟")
        assert [(c.id, reason) for c, reason in found_] == [(original.id, "pinyin")]


def test_migration_moves_sqlite_tokens_into_fts(seed):
    """0009 on SQLite: down to the token table (filled from FTS5), up again (filled from the
    token table): every customer keeps its tokens and is found as before."""
    from crm.customers.models import Customer
    from crm.migrate import CORE_DIRECTORY, MigrationSet, runner_for
    people = [seed.customer("单丽", phone="13987654321"),
              seed.customer("Acme Trading", email="sales@acme.example")]
    with seed.ctx():
        if is_postgres():
            pytest.skip("PostgreSQL keeps the token table: 0009 changes nothing there")
        before = {c.id: search_index.tokens_of(c.id) for c in people}
        runner = runner_for(MigrationSet("core", CORE_DIRECTORY))
        runner.down("0008_money_bigint")
        assert "customer_search" not in database.get_tables()
        pairs = database.execute_sql(
            "SELECT customer_id, token FROM customer_search_token").fetchall()
        assert {(i, t) for i, tokens in before.items() for t in tokens} == set(pairs)
        database.execute_sql("INSERT INTO customer_search_token VALUES ('acme trading', ?)",
                             [people[1].id])       # an older version's token of two words
        runner.up()
        assert "customer_search_token" not in database.get_tables()
        assert search_index.tokens_of(people[0].id) == before[people[0].id]
        assert search_index.tokens_of(people[1].id) == before[people[1].id]   # words split
        matched = queries.apply_filters(Customer.select(), queries.Filters(q="danli 4321"))
        assert [c.id for c in matched] == [people[0].id]
        database.execute_sql("DELETE FROM customer WHERE id = ?", [people[0].id])
        assert search_index.tokens_of(people[0].id) == set()   # the trigger came back too
