"""Header guessing (Chinese and English names, the export's own labels in both languages),
the mapping page, saved mappings (templates) per user."""
from __future__ import annotations

import pytest
from flask_babel import force_locale

from crm.exports.services import CORE_COLUMNS
from crm.imports import columns
from crm.imports.models import ImportTemplate
from tests.conftest import htmx
from tests.imports.conftest import client_for, csv_bytes, import_id, job, upload


def guess(app, headers, kind="customers"):
    with app.test_request_context():
        return {headers[i]: f for i, f in columns.guess(
            headers, columns.fields_for(kind), kind).items()}


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_the_exports_labels_map_exactly_in_both_languages(app, locale):
    with app.test_request_context(), force_locale(locale):
        headers = [str(c.label) for c in CORE_COLUMNS]
    mapped = guess(app, headers)
    assert mapped == {str(h): c.name for h, c in zip(headers, CORE_COLUMNS)}


def test_usual_chinese_headers(app):
    assert guess(app, ["公司名称", "联系人", "手机", "电子邮件", "行业", "区域", "负责人", "标签",
                       "客户编号", "备注", "微信", "职位", "价值等级", "成立日期"]) == {
        "公司名称": "name", "联系人": "contact_name", "手机": "phone", "电子邮件": "email",
        "行业": "industry", "区域": "region", "负责人": "owner", "标签": "tags",
        "客户编号": "number", "备注": "notes", "微信": "contact_wechat",
        "职位": "contact_title", "价值等级": "value_class", "成立日期": "founded_on"}


def test_usual_english_headers(app):
    assert guess(app, ["Company Name", "Phone", "E-Mail", "Industry", "Region", "Owner",
                       "Tags", "Customer No", "Contact", "Unknown column"]) == {
        "Company Name": "name", "Phone": "phone", "E-Mail": "email", "Industry": "industry",
        "Region": "region", "Owner": "owner", "Tags": "tags", "Customer No": "number",
        "Contact": "contact_name"}


def test_a_name_column_is_the_customer_unless_a_company_column_takes_it(app):
    assert guess(app, ["姓名", "手机"]) == {"姓名": "name", "手机": "phone"}
    assert guess(app, ["姓名", "公司名称"]) == {"姓名": "contact_name", "公司名称": "name"}
    assert guess(app, ["名称", "名称"]) == {"名称": "name"}     # one column per field


def test_plugin_columns_are_guessed_from_their_aliases(app):
    from tests.imports.card_plugin import hooks
    with app.test_request_context():
        fields = columns.fields_for("customers", [c for c in hooks.crm_import_columns(None)])
        assert columns.guess(["客户名称", "会员卡号"], fields) == {0: "name", 1: "x_card"}


def test_activity_and_purchase_headers(app):
    assert guess(app, ["客户编号", "跟进方式", "跟进时间", "跟进内容", "下次跟进日期", "记录人"],
                 "activities") == {"客户编号": "number", "跟进方式": "kind",
                                   "跟进时间": "occurred_at", "跟进内容": "summary",
                                   "下次跟进日期": "next_followup_on", "记录人": "user"}
    assert guess(app, ["手机", "商品编码", "数量", "购买日期"], "purchases") == {
        "手机": "phone", "商品编码": "product", "数量": "quantity", "购买日期": "purchased_at"}


def test_a_file_without_a_known_header_is_refused_and_nothing_is_kept(app, login, seed):
    client = login("sales")
    response = upload(client, csv_bytes([["13812345678", "foo"], ["x", "y"]]))
    assert response.status_code == 422
    assert "header" in response.get_data(as_text=True)
    from crm.imports.models import Import
    assert seed.run(Import.select().count) == 0


def test_the_mapping_page_and_saved_mappings(app, login, seed):
    client = login("sales")
    data = csv_bytes([["名称", "电话", "卡"], ["甲乙丙有限公司", "13812345678", "12345678"]])
    job_id = import_id(upload(client, data))
    page = client.get(f"/imports/{job_id}/mapping")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'name="col-0"' in text and "甲乙丙有限公司" in text        # a sample value
    partial = client.get(f"/imports/{job_id}/mapping", headers=htmx("main"))
    assert partial.status_code == 200 and "<html" not in partial.get_data(as_text=True)
    # map the third column by hand, save the mapping under a name
    saved = client.post(f"/imports/{job_id}/mapping", data={
        "col-0": "name", "col-1": "phone", "col-2": "x_card", "key": "phone",
        "default_kind": "company", "template_name": "老系统", "action": "template"})
    assert saved.status_code == 303
    template = seed.run(ImportTemplate.get, ImportTemplate.name == "老系统")
    assert template.user_id == seed.user("sales").id
    # a second file with the same header: the saved mapping applies in one click
    second = import_id(upload(client, data))
    client.post(f"/imports/{second}/mapping", data={"apply_template": template.id,
                                                    "action": "apply"})
    assert job(seed, second).mapping_dict == {0: "name", 1: "phone", 2: "x_card"}
    assert job(seed, second).options_dict["key"] == "phone"
    # another user neither sees nor applies it
    other = client_for(app, "sales2")
    third = import_id(upload(other, data))
    assert "老系统" not in other.get(f"/imports/{third}/mapping").get_data(as_text=True)
    other.post(f"/imports/{third}/mapping", data={"apply_template": template.id,
                                                  "action": "apply"})
    assert job(seed, third).mapping_dict != {0: "name", 1: "phone", 2: "x_card"}
    # deleting it
    client.post("/imports/templates/delete", data={"template_id": template.id,
                                                   "import_id": job_id})
    assert seed.run(ImportTemplate.select().count) == 0


def test_the_same_field_twice_is_refused(app, login, seed):
    client = login("sales")
    job_id = import_id(upload(client, csv_bytes([["名称", "电话"], ["甲乙丙有限公司", "1"]])))
    response = client.post(f"/imports/{job_id}/mapping", data={
        "col-0": "name", "col-1": "name", "key": "number", "action": "check"})
    assert response.status_code == 422
    assert job(seed, job_id).status == "uploaded"
