"""Search the way Chinese users search: characters, pinyin, initials, phone digits, number,
e-mail, heteronym surnames, full-width input; metacharacters are plain text."""
from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from crm.customers.search import normalise_query, pinyin_keys
from tests.conftest import htmx


def found(client, q: str) -> list[str]:
    """Names in the results partial for the query ``q``."""
    response = client.get("/customers?q=" + quote(q), headers=htmx("results"))
    assert response.status_code == 200, (q, response.status_code)
    body = response.get_data(as_text=True)
    assert 'id="results"' in body
    return re.findall(r'<a href="/customers/\d+">([^<]+)</a>', body)


@pytest.fixture
def people(seed):
    made = {
        "张伟": seed.customer("张伟", phone="13812345678", email="zhang.wei@example.com"),
        "单丽": seed.customer("单丽", phone="13987654321"),
        "曾小贤": seed.customer("曾小贤", phone="13700001111"),
        "王芳": seed.customer("王芳", phone="010-62345670"),
        "杭州华信科技有限公司": seed.customer(
            "杭州华信科技有限公司", phone="0571-88886666",
            contacts=[{"name": "李雷", "mobile": "15900002222", "email": "lilei@huaxin.cn"}]),
        "Acme Trading Ltd.": seed.customer("Acme Trading Ltd.", email="sales@acme.example"),
    }
    return made


SEARCHES = [
    ("张伟", ["张伟"]),
    ("伟", ["张伟"]),                      # one character
    ("zhangwei", ["张伟"]),                # full pinyin
    ("ZhangWei", ["张伟"]),                # case does not matter
    ("zw", ["张伟"]),                      # initials
    ("5678", ["张伟"]),                    # the last 4 digits at a counter
    ("138 1234 5678", ["张伟"]),           # a number typed with spaces
    ("138-1234-5678", ["张伟"]),
    ("５６７８", ["张伟"]),                  # full-width digits
    ("zhang.wei@example.com", ["张伟"]),
    ("shanli", ["单丽"]),                  # 单 is read shan as a surname...
    ("danli", ["单丽"]),                   # ...and dan
    ("sl", ["单丽"]),
    ("dl", ["单丽"]),
    ("zengxiaoxian", ["曾小贤"]),
    ("zxx", ["曾小贤"]),
    ("6666", ["杭州华信科技有限公司"]),      # landline, last 4
    ("华信", ["杭州华信科技有限公司"]),
    ("huaxin", ["杭州华信科技有限公司"]),
    ("李雷", ["杭州华信科技有限公司"]),       # a contact's name finds the customer
    ("lilei", ["杭州华信科技有限公司"]),
    ("2222", ["杭州华信科技有限公司"]),       # a contact's mobile
    ("acme", ["Acme Trading Ltd."]),
    ("acme trading", ["Acme Trading Ltd."]),   # every term must match
    ("acme 张伟", []),
]


def test_search(client, login, people):
    """One app for all the queries (each is checked; every mismatch is reported)."""
    login("admin")
    wrong = {q: got for q, expected in SEARCHES
             if sorted(got := found(client, q)) != sorted(expected)}
    assert not wrong, wrong


def test_search_by_customer_number(client, login, people):
    login("admin")
    number = people["王芳"].number
    assert re.fullmatch(r"C\d{10}", number)
    assert found(client, number) == ["王芳"]
    assert found(client, number.lower()) == ["王芳"]


def test_metacharacters_are_plain_text(client, login, people):
    login("admin")
    for q in ["%", "_", "'", "%%", "' OR 1=1 --", "\\", "\"", "a%z", "[a]", "*", "?"]:
        assert found(client, q) == [], q


def test_underscore_matches_only_an_underscore(client, login, people, seed):
    """Terms match the start of a search token (customers/search_tokens.py): "_" is a literal
    character there, never LIKE's any-one-character wildcard."""
    seed.customer("李娜", email="li_na@example.com")
    login("admin")
    assert found(client, "li_") == ["李娜"]
    assert found(client, "li_na") == ["李娜"]
    assert found(client, "l_") == []          # as a wildcard it would match "li..." too
    assert found(client, "li%") == []
    assert found(client, "%") == []


def test_empty_and_long_queries(client, login, people):
    login("admin")
    assert len(found(client, "")) == len(people)
    assert len(found(client, "   ")) == len(people)
    assert found(client, "张" * 500) == []


def test_search_stays_in_scope(client, login, seed):
    seed.customer("张伟", owner="sales")
    seed.customer("张伟伟", owner="sales2")
    login("sales")
    assert found(client, "zw") == ["张伟"]


def test_search_follows_edits(client, login, seed):
    customer = seed.customer("张伟", owner="admin")
    login("admin")
    page = client.get(f"/customers/{customer.id}/edit").get_data(as_text=True)
    version = re.search(r'name="version"[^>]*value="(\d+)"', page).group(1)
    response = client.post(f"/customers/{customer.id}/edit", data={
        "kind": "person", "name": "单丽", "phone": "139 8765 4321", "email": "", "industry": "",
        "size": "", "region": "", "founded_on": "", "value_class": "C",
        "owner": seed.user("admin").id, "source": "", "preferred_channel": "", "address": "",
        "tags": "", "notes": "", "version": version})
    assert response.status_code == 303
    assert found(client, "zw") == []
    assert found(client, "sl") == ["单丽"]
    assert found(client, "4321") == ["单丽"]


# -- units --------------------------------------------------------------------------------------

def test_pinyin_keys_of_heteronym_surnames():
    assert {"shanli", "danli", "sl", "dl"} <= pinyin_keys("单丽")
    assert {"zengxiaoxian", "zxx"} <= pinyin_keys("曾小贤")
    assert {"ouyang", "quyang", "oy", "qy"} <= pinyin_keys("区阳")
    assert pinyin_keys("Acme") == frozenset()


def test_normalise_query():
    assert normalise_query("  ＺＷ  １３８-1234 ") == ["zw", "1381234"]
    assert normalise_query("a b c d e f g h") == ["a", "b", "c", "d", "e", "f"]
    assert normalise_query("") == []


def test_search_tokens():
    from crm.customers.search_tokens import customer_tokens, name_tokens

    class C:
        name = "单丽"
        number = "C2026110001"
        phone = "+8613812345678"
        email = "Dan.Li@Example.com"
    tokens = customer_tokens(C(), [])
    for token in ("单丽", "丽", "shanli", "danli", "sl", "dl", "li", "c2026110001", "0001",
                  "13812345678", "5678", "dan.li@example.com", "dan.li"):
        assert token in tokens, token
    # a legal suffix is not indexed on its own: "有限公司" would find every company
    company = name_tokens("杭州华信科技有限公司")
    assert "华信科技有限公司" in company and "有限公司" not in company and "公司" not in company
    # no token holds a space: a name's words are tokens of their own, as a query's terms are
    assert name_tokens("O'Brien & Sons Ltd.") == {"o'brien", "o", "brien", "&", "sons", "ltd."}
