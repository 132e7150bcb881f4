"""Customers: create, edit with optimistic locking, trash and restore, duplicates, contacts,
tags and the audit trail."""
from __future__ import annotations

import re

from crm.audit.models import AuditLog
from crm.customers.models import Contact, Customer, CustomerTag, Tag
from crm.events.models import OutboxEvent
from tests.conftest import htmx
from tests.core.conftest import customer_form


def _id_from(location: str) -> int:
    return int(re.search(r"/customers/(\d+)", location).group(1))


def test_create(client, login, seed):
    login("admin")
    form = client.get("/customers/new")
    assert form.status_code == 200
    response = client.post("/customers/new", data=customer_form(
        form.data, name="杭州华信科技有限公司", phone="0571-88886666", email="info@huaxin.cn",
        industry="软件", region="浙江", value_class="A", tags="重点，杭州, 软件",
        notes="老客户", consent_sms="y"))
    assert response.status_code == 303
    customer = seed.get_customer(_id_from(response.headers["Location"]))
    assert (customer.name, customer.phone, customer.email, customer.industry, customer.region,
            customer.value_class, customer.notes) == (
        "杭州华信科技有限公司", "+8657188886666", "info@huaxin.cn", "软件", "浙江", "A", "老客户")
    assert customer.consent_sms and not customer.consent_phone
    assert customer.owner_id == seed.user("admin").id
    assert customer.created_by_id == seed.user("admin").id
    assert customer.version == 1
    tags = seed.run(lambda: sorted(t.name for t in Tag.select().join(CustomerTag)
                                   .where(CustomerTag.customer == customer.id)))
    assert tags == ["杭州", "软件", "重点"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"Customer {customer.number} created." in page
    assert "0571 8888 6666" in page
    events = seed.run(lambda: [e.name for e in OutboxEvent.select()])
    assert "customer.created" in events


def test_create_defaults_to_the_signed_in_owner(client, login, seed):
    login("sales")
    page = client.get("/customers/new").get_data(as_text=True)
    owners = re.search(r'<select[^>]*name="owner"[^>]*>(.*?)</select>', page, re.S).group(1)
    assert re.findall(r"<option[^>]*>([^<]+)</option>", owners) == ["Sales One"]   # only me
    response = client.post("/customers/new", data=customer_form(
        page, kind="person", name="张伟", owner=seed.user("admin").id))
    assert response.status_code == 422        # cannot give it to somebody else
    response = client.post("/customers/new", data=customer_form(page, kind="person", name="张伟"))
    assert response.status_code == 303
    customer = seed.get_customer(_id_from(response.headers["Location"]))
    assert customer.owner_id == seed.user("sales").id
    assert customer.department_id == seed.user("sales").department_id


def _edit_page(client, customer_id):
    page = client.get(f"/customers/{customer_id}/edit")
    assert page.status_code == 200
    return page.data


def test_edit(client, login, seed):
    customer = seed.customer("张伟", owner="admin", phone="13812345678", value_class="C")
    login("admin")
    page = _edit_page(client, customer.id)
    response = client.post(f"/customers/{customer.id}/edit",
                           data=customer_form(page, value_class="A", region="北京"))
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/customers/{customer.id}")
    stored = seed.get_customer(customer.id)
    assert (stored.value_class, stored.region, stored.version) == ("A", "北京", 2)
    assert stored.phone == "+8613812345678"          # untouched national text saved unchanged
    history = seed.run(lambda: sorted((a.field, a.old, a.new) for a in AuditLog.select().where(
        (AuditLog.entity == "customer") & (AuditLog.entity_id == customer.id)
        & (AuditLog.action == "update"))))
    assert history == [("region", "", "北京"), ("value_class", "C", "A")]


def test_edit_keeps_an_owner_outside_the_choices(client, login, seed):
    """A member registered at the counter (owned by the clerk) or owned by somebody who left:
    an edit keeps that owner instead of handing the customer to the first name in the list."""
    from crm.accounts.models import User
    at_counter = seed.customer("张伟", owner="clerk")
    seed.run(lambda: User.update(is_active=False).where(User.username == "sales2").execute())
    left = seed.customer("李娜", owner="sales2")
    login("admin")
    for customer, owner in ((at_counter, "clerk"), (left, "sales2")):
        page = _edit_page(client, customer.id)
        assert re.search(rf'<option selected value="{seed.user(owner).id}">', page.decode())
        response = client.post(f"/customers/{customer.id}/edit",
                               data=customer_form(page, value_class="A"))
        assert response.status_code == 303
        stored = seed.get_customer(customer.id)
        assert (stored.owner_id, stored.value_class) == (seed.user(owner).id, "A")


def test_edit_conflict(client, login, seed):
    """Two edits from the same loaded version: the second gets 409 and overwrites nothing."""
    customer = seed.customer("张伟", owner="admin", value_class="C", region="上海")
    login("admin")
    page = _edit_page(client, customer.id)
    first = client.post(f"/customers/{customer.id}/edit",
                        data=customer_form(page, region="北京"))
    assert first.status_code == 303
    second = client.post(f"/customers/{customer.id}/edit",
                         data=customer_form(page, region="广州", value_class="A",
                                            phone="13812345678", owner=seed.user("sales").id))
    assert second.status_code == 409
    body = second.get_data(as_text=True)
    assert "Nothing was overwritten" in body
    # both values side by side: the one saved meanwhile and mine
    row = re.search(r"<tr><td>Region</td><td>([^<]*)</td><td>([^<]*)</td></tr>", body)
    assert row and row.groups() == ("北京", "广州")
    row = re.search(r"<tr><td>Value class</td><td>([^<]*)</td><td>([^<]*)</td></tr>", body)
    assert row and row.groups() == ("C", "A")
    row = re.search(r"<tr><td>Phone</td><td>([^<]*)</td><td>([^<]*)</td></tr>", body)
    assert row and row.groups() == ("", "138 1234 5678")       # shown as typed, not E.164
    row = re.search(r"<tr><td>Owner</td><td>([^<]*)</td><td>([^<]*)</td></tr>", body)
    assert row and row.groups() == ("Admin", "Sales One")      # names, not ids
    stored = seed.get_customer(customer.id)
    assert (stored.region, stored.value_class, stored.version) == ("北京", "C", 2)
    assert stored.phone == "" and stored.owner_id == seed.user("admin").id
    # the form comes back with my values and the current version: saving again is deliberate
    assert 'value="广州"' in body
    assert re.search(r'name="version"[^>]*value="2"', body)
    again = client.post(f"/customers/{customer.id}/edit", data=customer_form(body))
    assert again.status_code == 303
    stored = seed.get_customer(customer.id)
    assert (stored.region, stored.value_class, stored.version) == ("广州", "A", 3)
    assert stored.phone == "+8613812345678" and stored.owner_id == seed.user("sales").id


def test_edit_conflict_as_htmx(client, login, seed):
    customer = seed.customer("张伟", owner="admin")
    login("admin")
    page = _edit_page(client, customer.id)
    client.post(f"/customers/{customer.id}/edit", data=customer_form(page, region="北京"))
    response = client.post(f"/customers/{customer.id}/edit",
                           data=customer_form(page, region="广州"), headers=htmx("main"))
    assert response.status_code == 409
    assert b"<html" not in response.data and b"Nothing was overwritten" in response.data
    assert "HX-Request" in response.headers["Vary"]


def test_edit_404_and_validation(client, login, seed):
    customer = seed.customer("张伟", owner="admin")
    login("admin")
    assert client.get("/customers/999999/edit").status_code == 404
    page = _edit_page(client, customer.id)
    response = client.post(f"/customers/{customer.id}/edit",
                           data=customer_form(page, phone="1381234567"))
    assert response.status_code == 422
    assert seed.get_customer(customer.id).version == 1


def test_trash_and_restore(client, login, seed):
    customer = seed.customer("张伟", owner="admin")
    other = seed.customer("李娜", owner="admin")
    login("admin")
    assert client.get(f"/customers/{customer.id}/delete").status_code == 405   # POST only
    response = client.post(f"/customers/{customer.id}/delete")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/customers")
    assert "moved to the trash" in client.get("/customers").get_data(as_text=True)
    stored = seed.get_customer(customer.id)
    assert stored.deleted_at is not None and stored.deleted_by_id == seed.user("admin").id
    # gone from the list, the search, the page, the partials
    listing = client.get("/customers").get_data(as_text=True)
    assert "张伟" not in listing and "李娜" in listing
    assert client.get(f"/customers/{customer.id}").status_code == 404
    assert client.get(f"/customers/{customer.id}/edit").status_code == 404
    assert client.get(f"/customers/{customer.id}/activities").status_code == 404
    # in the trash
    trash = client.get("/customers/trash").get_data(as_text=True)
    assert "张伟" in trash and "李娜" not in trash
    assert f'action="/customers/{customer.id}/restore"' in trash
    # restored with everything
    response = client.post(f"/customers/{customer.id}/restore")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/customers/{customer.id}")
    assert client.get(f"/customers/{customer.id}").status_code == 200
    assert "张伟" not in client.get("/customers/trash").get_data(as_text=True)
    assert seed.get_customer(customer.id).deleted_at is None
    actions = seed.run(lambda: [a.action for a in AuditLog.select().where(
        (AuditLog.entity == "customer") & (AuditLog.entity_id == customer.id))
        .order_by(AuditLog.id)])
    assert actions[-2:] == ["delete", "restore"]
    events = seed.run(lambda: [e.name for e in OutboxEvent.select().order_by(OutboxEvent.id)])
    assert events[-2:] == ["customer.deleted", "customer.restored"]
    assert seed.get_customer(other.id).deleted_at is None


def test_trash_is_scoped(client, login, seed):
    mine = seed.customer("张伟", owner="sales")
    theirs = seed.customer("李娜", owner="sales2")
    login("admin")
    client.post(f"/customers/{mine.id}/delete")
    client.post(f"/customers/{theirs.id}/delete")
    client.post("/logout")
    login("sales")
    trash = client.get("/customers/trash").get_data(as_text=True)
    assert "张伟" in trash and "李娜" not in trash
    assert client.post(f"/customers/{theirs.id}/restore").status_code == 404
    assert seed.get_customer(theirs.id).deleted_at is not None


def test_duplicate_warning_partial(client, login, seed):
    existing = seed.customer("杭州华信科技有限公司", owner="admin", phone="13812345678",
                             email="info@huaxin.cn")
    login("admin")

    def warn(**args):
        response = client.get("/customers/duplicates", query_string=args,
                              headers=htmx("dup-warning"))
        assert response.status_code == 200
        assert b"<html" not in response.data
        assert "HX-Request" in response.headers["Vary"]
        return response.get_data(as_text=True)

    assert "same phone" in warn(phone="138 1234 5678") and existing.number in warn(
        phone="138 1234 5678")
    assert "same e-mail" in warn(email="INFO@huaxin.cn")
    assert "same name" in warn(name="杭州华信科技有限公司")
    assert "similar name" in warn(name="华信科技有限公司")
    assert warn(name="北京全新科技有限公司", phone="13900000000") .strip() == ""
    # typing an invalid phone does not error
    assert warn(phone="12") .strip() == ""
    # editing a customer does not warn about itself
    assert warn(phone="13812345678", exclude=existing.id).strip() == ""


def test_duplicate_hidden_outside_scope(client, login, seed):
    seed.customer("杭州华信科技有限公司", owner="sales2", phone="13812345678")
    login("sales")
    body = client.get("/customers/duplicates", query_string={"phone": "13812345678"},
                      headers=htmx("dup-warning")).get_data(as_text=True)
    assert "杭州华信" not in body                         # not mine: no name, no link
    assert "1 similar customer belongs to somebody else" in body


def test_create_anyway_after_duplicate_warning(client, login, seed):
    seed.customer("杭州华信科技有限公司", owner="admin", phone="13812345678")
    login("admin")
    page = client.get("/customers/new").data
    data = customer_form(page, name="杭州华信电子有限公司", phone="13812345678")
    response = client.post("/customers/new", data=data)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "same phone" in body and 'name="confirm_duplicate"' in body
    assert seed.run(Customer.select().count) == 1
    # as htmx: the form partial with the warning
    partial = client.post("/customers/new", data=data, headers=htmx("customer-form"))
    assert partial.status_code == 422 and b"<html" not in partial.data
    assert b'name="confirm_duplicate"' in partial.data
    # ticked: created
    response = client.post("/customers/new", data=dict(data, confirm_duplicate="y"))
    assert response.status_code == 303
    assert seed.run(Customer.select().count) == 2


def test_contacts(client, login, seed):
    customer = seed.customer("杭州华信科技有限公司", owner="admin")
    login("admin")
    url = f"/customers/{customer.id}/contacts"
    response = client.post(url, data={"contact-name": "李雷", "contact-title": "经理",
                                      "contact-mobile": "13912345678", "contact-is_primary": "y"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/customers/{customer.id}#contacts")
    response = client.post(url, data={"contact-name": "韩梅梅", "contact-email": "hmm@huaxin.cn"})
    assert response.status_code == 303
    contacts = seed.run(lambda: {c.name: c for c in Contact.select()})
    assert contacts["李雷"].is_primary and contacts["李雷"].mobile == "+8613912345678"
    page = client.get(f"/customers/{customer.id}").get_data(as_text=True)
    assert "李雷" in page and "韩梅梅" in page and "139 1234 5678" in page
    # a contact's details find the customer
    search = client.get("/customers?q=hanmeimei", headers=htmx("results")).get_data(as_text=True)
    assert "杭州华信科技有限公司" in search

    # edit: the second becomes primary, the first is not any more
    edit_url = f"/customers/{customer.id}/contacts/{contacts['韩梅梅'].id}/edit"
    form = client.get(edit_url)
    assert form.status_code == 200 and 'value="hmm@huaxin.cn"' in form.get_data(as_text=True)
    version = re.search(r'name="contact-version"[^>]*value="(\d+)"', form.get_data(as_text=True))
    data = {"contact-name": "韩梅梅", "contact-email": "hmm@huaxin.cn", "contact-title": "总监",
            "contact-is_primary": "y", "contact-version": version.group(1)}
    assert client.post(edit_url, data=data).status_code == 303
    contacts = seed.run(lambda: {c.name: c for c in Contact.select()})
    assert contacts["韩梅梅"].is_primary and contacts["韩梅梅"].title == "总监"
    assert not contacts["李雷"].is_primary
    # the same stale version again: refused, nothing overwritten
    stale = client.post(edit_url, data=dict(data, **{"contact-title": "CEO"}))
    assert stale.status_code == 422
    assert "Somebody changed this contact meanwhile" in stale.get_data(as_text=True)
    assert seed.run(lambda: Contact.get_by_id(contacts["韩梅梅"].id).title) == "总监"

    # delete
    delete_url = f"/customers/{customer.id}/contacts/{contacts['李雷'].id}/delete"
    assert client.get(delete_url).status_code == 405
    assert client.post(delete_url).status_code == 303
    assert seed.run(lambda: [c.name for c in Contact.select()]) == ["韩梅梅"]
    search = client.get("/customers?q=lilei", headers=htmx("results")).get_data(as_text=True)
    assert "杭州华信科技有限公司" not in search
    audit = seed.run(lambda: [(a.action, a.field) for a in AuditLog.select()
                              .where(AuditLog.entity == "contact").order_by(AuditLog.id)])
    assert ("update", "title") in audit and ("delete", "name") in audit


def test_contact_of_another_customer_is_404(client, login, seed):
    one = seed.customer("杭州华信科技有限公司", owner="admin",
                        contacts=[{"name": "李雷"}])
    two = seed.customer("北京全新科技有限公司", owner="admin")
    contact_id = seed.run(lambda: Contact.get().id)
    login("admin")
    assert client.get(f"/customers/{two.id}/contacts/{contact_id}/edit").status_code == 404
    assert client.post(f"/customers/{two.id}/contacts/{contact_id}/delete").status_code == 404
    assert client.get(f"/customers/{one.id}/contacts/{contact_id}/edit").status_code == 200


def test_contact_form_422(client, login, seed):
    customer = seed.customer("杭州华信科技有限公司", owner="admin")
    login("admin")
    response = client.post(f"/customers/{customer.id}/contacts", data={"contact-name": ""})
    assert response.status_code == 422
    assert "Required." in response.get_data(as_text=True)
    partial = client.post(f"/customers/{customer.id}/contacts", data={"contact-name": ""},
                          headers=htmx("contact-form"))
    assert partial.status_code == 422 and b"<html" not in partial.data
    assert b'id="contact-form"' in partial.data


def test_tags(client, login, seed):
    customer = seed.customer("张伟", owner="admin", tags=["vip"])
    login("admin")
    page = _edit_page(client, customer.id)
    assert 'value="vip"' in page.decode()
    response = client.post(f"/customers/{customer.id}/edit",
                           data=customer_form(page, tags="vip、北京，重点, 北京"))
    assert response.status_code == 303
    detail = client.get(f"/customers/{customer.id}").get_data(as_text=True)
    for tag in ("vip", "北京", "重点"):
        assert f">{tag}</a>" in detail
    vip = seed.run(lambda: Tag.get(Tag.name == "北京").id)
    assert f'href="/customers?tag={vip}"' in detail
    listing = client.get(f"/customers?tag={vip}", headers=htmx("results")).get_data(as_text=True)
    assert "张伟" in listing
    history = seed.run(lambda: [(a.field, a.old, a.new) for a in AuditLog.select().where(
        (AuditLog.entity == "customer") & (AuditLog.action == "update"))])
    assert ("tags", "vip", "vip, 北京, 重点") in history
    # removing all tags
    page = _edit_page(client, customer.id)
    client.post(f"/customers/{customer.id}/edit", data=customer_form(page, tags=""))
    assert seed.run(lambda: CustomerTag.select().where(
        CustomerTag.customer == customer.id).count()) == 0


def test_history(client, login, seed):
    customer = seed.customer("张伟", owner="admin", value_class="C", phone="13812345678")
    login("admin")
    page = _edit_page(client, customer.id)
    client.post(f"/customers/{customer.id}/edit",
                data=customer_form(page, value_class="A", phone="13987654321"))
    history = client.get(f"/customers/{customer.id}/history").get_data(as_text=True)
    rows = re.findall(r"<tr><td>[^<]+</td><td>([^<]+)</td><td>([^<]+)</td><td>([^<]*)</td>"
                      r"<td>([^<]*)</td><td>([^<]*)</td></tr>", history)
    assert ("Admin", "changed", "Value class", "C", "A") in rows
    assert ("Admin", "changed", "Phone", "138 1234 5678", "139 8765 4321") in rows
    assert ("Admin", "created", "Name", "", "张伟") in rows
    # an edit that changes nothing adds no row
    before = len(rows)
    page = _edit_page(client, customer.id)
    client.post(f"/customers/{customer.id}/edit", data=customer_form(page))
    history = client.get(f"/customers/{customer.id}/history").get_data(as_text=True)
    assert len(re.findall(r"<tr><td>", history)) == before
    # the detail page shows the latest changes too
    assert "<td>Value class</td><td>C</td><td>A</td>" in \
        client.get(f"/customers/{customer.id}").get_data(as_text=True)
