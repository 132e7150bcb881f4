"""The administrator's pages: list, new, edit, archive, restore; validation messages; renaming
keeps values; a type change or an option in use is refused; archiving keeps the values."""
from __future__ import annotations

from tests.conftest import htmx

NEW = {"label_zh": "会员等级", "label_en": "Member level", "key": "", "type": "choice",
       "choices": "金卡 | Gold\n银卡 | Silver\n普通", "section": "会员", "help_zh": "", "help_en": "",
       "position": "10", "filterable": "y"}


def test_only_administrators_reach_the_pages(client, login):
    login("manager")
    assert client.get("/custom-fields").status_code == 403
    assert client.post("/custom-fields/new", data=NEW).status_code == 403
    client.post("/logout")
    login("admin")
    page = client.get("/custom-fields")
    assert page.status_code == 200 and "No custom field yet." in page.get_data(as_text=True)
    assert b'href="/custom-fields"' in client.get("/").data          # the nav item


def test_create_list_and_edit_through_the_pages(client, login, fields):
    login("admin")
    response = client.post("/custom-fields/new", data=NEW)
    assert response.status_code == 303 and response.headers["Location"].endswith("/custom-fields")
    page = client.get("/custom-fields").get_data(as_text=True)
    assert "会员等级" in page or "Member level" in page
    assert "member_level" in page                       # the key, made from the English name
    from plugins.custom_fields.models import FieldDef
    defn = fields.seed.run(lambda: FieldDef.get(FieldDef.key == "member_level"))
    assert (defn.type, defn.section, defn.required) == ("choice", "会员", False)
    edit = client.get(f"/custom-fields/{defn.id}/edit")
    assert edit.status_code == 200 and "金卡 | Gold" in edit.get_data(as_text=True)
    partial = client.get(f"/custom-fields/{defn.id}/edit", headers=htmx("custom-field-form"))
    assert partial.status_code == 200 and b"<html" not in partial.data
    changed = dict(NEW, label_zh="会员级别", version=str(defn.version), required="y")
    assert client.post(f"/custom-fields/{defn.id}/edit", data=changed).status_code == 303
    defn = fields.get(defn.id)
    assert (defn.label_zh, defn.required, defn.version) == ("会员级别", True, 2)
    stale = client.post(f"/custom-fields/{defn.id}/edit", data=dict(changed, version="1"))
    assert stale.status_code == 422
    assert "changed this field meanwhile" in stale.get_data(as_text=True)


def test_validation_messages(client, login, fields):
    login("admin")
    fields.add("level")
    cases = [
        (dict(NEW, label_zh="", label_en=""), "Give the field a name"),
        (dict(NEW, choices=""), "at least one option"),
        (dict(NEW, choices="金卡\n金卡"), "listed twice"),
        (dict(NEW, choices="金, 银"), "no , ; 、 or |"),
        (dict(NEW, key="level"), "has this key"),
        (dict(NEW, key="1 级"), "f_1"),                 # not an error: made a valid key
        (dict(NEW, type="nonsense"), "Not a valid choice"),
    ]
    for data, message in cases:
        response = client.post("/custom-fields/new", data=data)
        text = response.get_data(as_text=True)
        if message == "f_1":
            assert response.status_code == 303
            continue
        assert response.status_code == 422, data
        assert message in text, (message, text[:3000])
        assert 'aria-invalid="true"' in text or "error-box" in text


def test_a_key_is_made_from_what_was_typed(client, login, fields):
    login("admin")
    created = client.post("/custom-fields/new", data=dict(NEW, key="Security probe"))
    assert created.status_code == 303
    from plugins.custom_fields.models import FieldDef
    assert fields.seed.run(
        lambda: FieldDef.select().where(FieldDef.key == "security_probe").count()) == 1


def test_renaming_keeps_values_and_type_changes_are_refused(client, login, fields, seed):
    login("admin")
    defn = fields.add("budget", "money", label_zh="预算", label_en="Budget")
    customer = seed.customer("杭州华信科技有限公司")
    fields.set(defn, customer.id, 500000)
    data = {"label_zh": "年度预算", "label_en": "Annual budget", "key": "annual_budget",
            "type": "money", "choices": "", "position": "5", "version": "1"}
    assert client.post(f"/custom-fields/{defn.id}/edit", data=data).status_code == 303
    renamed = fields.get(defn.id)
    assert (renamed.key, renamed.label_zh) == ("annual_budget", "年度预算")
    assert fields.value(renamed, customer.id) == 500000
    assert "预算" in renamed.former_labels
    refused = client.post(f"/custom-fields/{defn.id}/edit",
                          data=dict(data, type="integer", version="2"))
    assert refused.status_code == 422
    assert "its type cannot change" in refused.get_data(as_text=True)
    assert fields.get(defn.id).type == "money"


def test_an_option_in_use_cannot_be_removed(client, login, fields, seed):
    login("admin")
    defn = fields.add("level", "multichoice", choices="金卡 | Gold\n银卡 | Silver\n铜卡")
    customer = seed.customer("杭州华信科技有限公司")
    fields.set(defn, customer.id, ("金卡", "铜卡"))
    data = {"label_zh": "等级", "label_en": "Level", "key": "level", "type": "multichoice",
            "position": "1", "version": "1"}
    refused = client.post(f"/custom-fields/{defn.id}/edit", data=dict(data, choices="金卡\n银卡"))
    assert refused.status_code == 422 and "“铜卡” (1)" in refused.get_data(as_text=True)
    ok = client.post(f"/custom-fields/{defn.id}/edit", data=dict(data, choices="金卡\n铜卡\n钻石"))
    assert ok.status_code == 303                          # an unused option may go
    assert fields.value(defn, customer.id) == ("金卡", "铜卡")


def test_archive_hides_the_field_and_keeps_its_values(client, login, fields, seed):
    login("admin")
    defn = fields.add("vip_note", label_en="VIP note")
    customer = seed.customer("杭州华信科技有限公司")
    fields.set(defn, customer.id, "喜欢喝茶")
    assert "VIP note" in client.get(f"/customers/{customer.id}/edit").get_data(as_text=True)
    assert client.post(f"/custom-fields/{defn.id}/archive").status_code == 303
    assert fields.get(defn.id).archived_at is not None
    page = client.get("/custom-fields").get_data(as_text=True)
    assert "Archived" in page and "Restore" in page
    form = client.get(f"/customers/{customer.id}/edit").get_data(as_text=True)
    assert "VIP note" not in form
    from tests.core.conftest import customer_form
    saved = client.post(f"/customers/{customer.id}/edit", data=customer_form(form, notes="x"))
    assert saved.status_code == 303
    assert fields.value(defn, customer.id) == "喜欢喝茶"      # kept while archived
    assert client.post(f"/custom-fields/{defn.id}/restore").status_code == 303
    assert "喜欢喝茶" in client.get(f"/customers/{customer.id}/edit").get_data(as_text=True)


def test_definition_changes_are_audited(client, login, fields):
    login("admin")
    defn = fields.add("source_detail")
    client.post(f"/custom-fields/{defn.id}/archive")
    from crm.audit.models import AuditLog
    rows = fields.seed.run(lambda: [(a.action, a.field) for a in AuditLog.select().where(
        AuditLog.entity == "custom_field").order_by(AuditLog.id)])
    assert ("create", "key") in rows and ("custom_fields.archive", "values") in rows


def test_missing_field_is_a_404(client, login):
    login("admin")
    assert client.get("/custom-fields/999/edit").status_code == 404
    assert client.post("/custom-fields/999/archive").status_code == 404
