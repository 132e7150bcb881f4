"""The custom fields plugin in a real browser, with JavaScript on (htmx) and off.

An administrator adds two fields from the browser (a single choice shown as a list column, and
a whole number), a new customer is created with them (a wrong number first: 422, the message
under the field, nothing saved), the customer page's "More details" panel shows the values
(loaded lazily by htmx, or through the placeholder's link without JavaScript), and the list
filter on the choice finds the customer and shows the column.  Every result is checked in the
SQLite database too.  The js and nojs runs share one server: names and keys are unique.
"""
from __future__ import annotations

import random
import re
import secrets
from urllib.parse import urlsplit

from playwright.sync_api import expect

from tests.e2e.conftest import sign_in

CUSTOMER_URL = re.compile(r".*/customers/\d+$")


def _post_to(path: str):
    return lambda r: r.request.method == "POST" and urlsplit(r.url).path == path


def _add_field(page, js: bool, label_zh: str, label_en: str, kind: str, options: str = "",
               in_list: bool = False) -> None:
    page.goto("/custom-fields/new")
    form = page.locator("#custom-field-form")
    expect(form).to_be_visible()
    form.locator("[name=label_zh]").fill(label_zh)
    form.locator("[name=label_en]").fill(label_en)
    form.locator("[name=type]").select_option(kind)
    if options:
        form.locator("[name=choices]").fill(options)
    if in_list:
        form.locator("[name=in_list]").check()
    with page.expect_response(_post_to("/custom-fields/new")) as info:
        form.locator("button[type=submit]").click()
    assert info.value.status in (200, 303), info.value.status
    if js:
        assert info.value.request.headers.get("hx-request") == "true"
    page.wait_for_url(lambda url: urlsplit(url).path == "/custom-fields")
    expect(page.locator("main")).to_contain_text(label_zh)


def _free_mobile(instance) -> str:
    taken = {row[0] for row in instance.query("SELECT phone FROM customer")}
    while True:
        phone = "137" + "".join(random.choice("0123456789") for _ in range(8))
        if "+86" + phone not in taken:
            return phone


def test_admin_adds_fields_then_a_customer_gets_them(page, js, instance):
    tag = f"{'js' if js else 'nojs'}{secrets.token_hex(3)}"
    level_zh, level_en = f"会员级别{tag}", f"Level {tag}"
    visits_zh, visits_en = f"到店次数{tag}", f"Visits {tag}"
    sign_in(page, "admin")
    _add_field(page, js, level_zh, level_en, "choice", "金卡 | Gold\n银卡 | Silver", in_list=True)
    _add_field(page, js, visits_zh, visits_en, "integer")
    keys = dict(instance.query(
        "SELECT label_en, key FROM custom_fields_field WHERE label_en IN (?, ?)",
        (level_en, visits_en)))
    assert set(keys) == {level_en, visits_en}, keys
    level, visits = f"x_cf_{keys[level_en]}", f"x_cf_{keys[visits_en]}"

    # A new customer: the fields are in the form, validated like the core's fields.
    page.goto("/customers/new")
    form = page.locator("#customer-form")
    expect(form.locator(f"[name={level}]")).to_be_visible()
    name = "自定义" + secrets.token_hex(4)
    form.locator("#kind").select_option("person")
    form.locator("#name").fill(name)
    form.locator("#phone").fill(_free_mobile(instance))
    form.locator(f"[name={level}]").select_option("金卡")
    form.locator(f"[name={visits}]").fill("十二")
    with page.expect_response(_post_to("/customers/new")) as info:
        form.locator("button[type=submit]").click()
    assert info.value.status == 422
    expect(form.locator(f"[name={visits}]")).to_have_attribute("aria-invalid", "true")
    expect(form.locator(f"#{visits}-err")).to_be_visible()
    expect(form.locator(f"[name={level}]")).to_have_value("金卡")          # input kept
    assert not instance.query("SELECT id FROM customer WHERE name = ?", (name,))
    if js:
        page.wait_for_function("!document.querySelector('.htmx-settling, .htmx-swapping')")

    form.locator(f"[name={visits}]").fill("12")
    form.locator("button[type=submit]").click()
    page.wait_for_url(CUSTOMER_URL)
    expect(page.locator("main h1")).to_have_text(name)
    (customer_id,) = instance.query("SELECT id FROM customer WHERE name = ?", (name,))[0]
    stored = dict(instance.query(
        "SELECT f.label_en, COALESCE(v.value_text, CAST(v.value_int AS TEXT)) "
        "FROM custom_fields_value v JOIN custom_fields_field f ON f.id = v.field_id "
        "WHERE v.customer_id = ?", (customer_id,)))
    assert stored == {level_en: "金卡", visits_en: "12"}, stored

    # The "More details" panel: fetched by htmx with JavaScript, through its link without.
    panel = page.locator("#panel-custom_fields")
    if js:
        expect(panel).not_to_have_attribute("hx-get", re.compile(".*"))
    else:
        page.goto(panel.locator("a").first.get_attribute("href"))
        panel = page.locator("main section.panel")
    expect(panel).to_contain_text(level_zh)
    expect(panel).to_contain_text("金卡")
    expect(panel).to_contain_text("12")

    # The list: the choice is a filter and a column.
    page.goto(f"/customers?{level}=金卡&q={name}")
    rows = page.locator("#results tbody tr", has_text=name)
    expect(rows).to_have_count(1)
    expect(page.locator("#results thead")).to_contain_text(level_zh)
    expect(rows.first).to_contain_text("金卡")
    page.goto(f"/customers?{level}=银卡&q={name}")
    expect(page.locator("#results tbody tr", has_text=name)).to_have_count(0)
