"""The customer list: filters, sorts, numbered pages, load more, and a fixed number of queries
whatever the page size."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from crm import Column, hookimpl
from crm.customers.models import Customer
from crm.db import utcnow
from tests.conftest import htmx


def names(response) -> list[str]:
    assert response.status_code == 200, response.status_code
    return re.findall(r'<a href="/customers/\d+">([^<]+)</a>', response.get_data(as_text=True))


@pytest.fixture
def shop(seed):
    """Six customers that differ in every filtered field."""
    now = utcnow()
    rows = [
        # name, owner, tags, class, region, industry, last contacted (days ago)
        ("Alpha Trading Ltd.", "sales", ["vip"], "A", "浙江", "Retail", 1),
        ("Beta Foods Ltd.", "sales", ["vip", "north"], "B", "北京", "Food", 10),
        ("Delta Tools Ltd.", "sales2", ["north"], "A", "北京", "Tools", 40),
        ("Epsilon Tea Ltd.", "sales2", [], "C", "浙江", "Food", None),
        ("Gamma Paper Ltd.", "admin", [], "D", "上海", "Retail", 100),
        ("Zeta Print Ltd.", "manager", ["vip"], "B", "上海", "Print", 3),
    ]
    made = {}
    for name, owner, tags, value_class, region, industry, days in rows:
        customer = seed.customer(name, owner=owner, tags=tags, value_class=value_class,
                                 region=region, industry=industry)
        if days is not None:
            seed.run(lambda c=customer, d=days: Customer.update(
                last_contacted_at=now - dt.timedelta(days=d)).where(Customer.id == c.id).execute())
        made[name] = customer
    return made


def tag_id(seed, name):
    from crm.customers.models import Tag
    return seed.run(lambda: Tag.get(Tag.name == name).id)


def test_filters(client, login, seed, shop):
    login("admin")

    def get(query):
        return sorted(names(client.get("/customers?" + query, headers=htmx("results"))))
    sales = seed.user("sales").id
    assert get(f"owner={sales}") == ["Alpha Trading Ltd.", "Beta Foods Ltd."]
    assert get(f"tag={tag_id(seed, 'vip')}") == ["Alpha Trading Ltd.", "Beta Foods Ltd.",
                                                 "Zeta Print Ltd."]
    assert get(f"tag={tag_id(seed, 'north')}") == ["Beta Foods Ltd.", "Delta Tools Ltd."]
    assert get("value_class=A") == ["Alpha Trading Ltd.", "Delta Tools Ltd."]
    assert get("region=北京") == ["Beta Foods Ltd.", "Delta Tools Ltd."]
    assert get("industry=Food") == ["Beta Foods Ltd.", "Epsilon Tea Ltd."]
    assert get("stale=7") == ["Beta Foods Ltd.", "Delta Tools Ltd.", "Epsilon Tea Ltd.",
                              "Gamma Paper Ltd."]          # never contacted counts as stale
    assert get("stale=30") == ["Delta Tools Ltd.", "Epsilon Tea Ltd.", "Gamma Paper Ltd."]
    # filters combine
    assert get(f"value_class=B&tag={tag_id(seed, 'vip')}&region=北京") == ["Beta Foods Ltd."]
    assert get("value_class=A&industry=Food") == []
    # nonsense is ignored, not an error
    assert len(get("owner=abc&tag=-1&stale=0&sort=drop&page=x")) == 6


def test_filter_choices_on_the_page(client, login, shop):
    login("admin")
    page = client.get("/customers").get_data(as_text=True)
    for option in ("<option>北京</option>", "<option>Food</option>", ">vip</option>",
                   ">Sales One</option>"):
        assert option in page, option
    filtered = client.get("/customers?region=北京").get_data(as_text=True)
    assert "<option selected>北京</option>" in filtered


SORTS = {
    "recent": ["Zeta Print Ltd.", "Gamma Paper Ltd.", "Epsilon Tea Ltd.", "Delta Tools Ltd.",
               "Beta Foods Ltd.", "Alpha Trading Ltd."],
    "name": ["Alpha Trading Ltd.", "Beta Foods Ltd.", "Delta Tools Ltd.", "Epsilon Tea Ltd.",
             "Gamma Paper Ltd.", "Zeta Print Ltd."],
    "number": ["Alpha Trading Ltd.", "Beta Foods Ltd.", "Delta Tools Ltd.", "Epsilon Tea Ltd.",
               "Gamma Paper Ltd.", "Zeta Print Ltd."],
    "contacted": ["Alpha Trading Ltd.", "Zeta Print Ltd.", "Beta Foods Ltd.", "Delta Tools Ltd.",
                  "Gamma Paper Ltd.", "Epsilon Tea Ltd."],
    "stale": ["Epsilon Tea Ltd.", "Gamma Paper Ltd.", "Delta Tools Ltd.", "Beta Foods Ltd.",
              "Zeta Print Ltd.", "Alpha Trading Ltd."],
    "value": ["Delta Tools Ltd.", "Alpha Trading Ltd.", "Zeta Print Ltd.", "Beta Foods Ltd.",
              "Epsilon Tea Ltd.", "Gamma Paper Ltd."],
}


def test_sorts(client, login, shop):
    login("admin")
    for sort, expected in SORTS.items():
        assert names(client.get(f"/customers?sort={sort}", headers=htmx("results"))) == \
            expected, sort
    assert names(client.get("/customers")) == SORTS["recent"]   # the default


def test_pagination_links_and_load_more(client, login, app, shop):
    app.config["PAGE_SIZE"] = 4
    login("admin")
    first = client.get("/customers?sort=name")
    body = first.get_data(as_text=True)
    assert names(first) == SORTS["name"][:4]
    assert "6 customers" in body
    # numbered links, real hrefs that keep the filters, enhanced with hx-get into #results
    assert 'href="/customers?sort=name&amp;page=2"' in body
    assert 'hx-get="/customers?sort=name&amp;page=2" hx-target="#results"' in body
    assert '<a aria-current="page">1</a>' in body
    # load more: the next page's rows in place of the load-more row
    assert 'id="load-more"' in body
    more = client.get("/customers?sort=name&page=2", headers=htmx("load-more"))
    assert names(more) == SORTS["name"][4:]
    assert "<table" not in more.get_data(as_text=True)
    assert 'id="load-more"' not in more.get_data(as_text=True)
    # page 2 as a full page (JavaScript off)
    second = client.get("/customers?sort=name&page=2")
    assert names(second) == SORTS["name"][4:]
    assert '<a aria-current="page">2</a>' in second.get_data(as_text=True)
    # past the end: the last page
    assert names(client.get("/customers?sort=name&page=99")) == SORTS["name"][4:]


def test_page_numbers_with_gaps(app):
    from crm.customers.queries import Page
    page = Page([], total=200, page=6, per_page=10)
    assert page.pages == 20
    assert page.page_numbers() == [1, None, 4, 5, 6, 7, 8, None, 20]
    assert Page([], 0, 1, 10).page_numbers() == [1]
    assert not Page([], 10, 1, 10).has_next and Page([], 11, 1, 10).has_next


class ColumnPlugin:
    """A list column: the list must load it once per page, not once per row."""
    PLUGIN_NAME = "coretestcols"

    @hookimpl
    def crm_customer_list_columns(self, user):
        def load(customers):
            ids = [c.id for c in customers]
            return {cid: n for cid, n in Customer.select(Customer.id, Customer.id * 2)
                    .where(Customer.id.in_(ids)).tuples()}
        return [Column("double", "Double", load)]


@pytest.fixture
def plugins():
    return [ColumnPlugin()]


def test_no_n_plus_one_on_the_list(client, login, app, seed, count_queries):
    """The same number of queries for 5 rows and for 50 (owners, tags, a plugin column)."""
    owners = ["admin", "manager", "sales", "sales2"]
    tags = [["vip"], ["north", "vip"], [], ["south"]]

    def add(n, start):
        for i in range(start, start + n):
            seed.customer(f"Customer {i:03d} Ltd.", owner=owners[i % 4], tags=tags[i % 4],
                          phone=f"138{i:08d}")

    login("admin")
    add(5, 0)
    app.config["PAGE_SIZE"] = 25
    count_queries.reset()
    small = client.get("/customers")
    small_count = len(count_queries)
    assert len(names(small)) == 5

    add(55, 5)
    app.config["PAGE_SIZE"] = 50
    count_queries.reset()
    big = client.get("/customers")
    big_count = len(count_queries)
    assert len(names(big)) == 50
    assert big.get_data(as_text=True).count('<span class="tag">') > 20
    assert big_count == small_count, "\n".join(count_queries.statements)

    # the htmx partials too
    count_queries.reset()
    client.get("/customers?page=1", headers=htmx("results"))
    partial_count = len(count_queries)
    app.config["PAGE_SIZE"] = 5
    count_queries.reset()
    client.get("/customers?page=1", headers=htmx("results"))
    assert len(count_queries) == partial_count
