"""The fields an import can fill, per kind of import, and how a file's header is mapped to
them: first the export's own column labels in every language (so an exported file maps
exactly), then the usual Chinese and English names of each field.  Plugins add customer
fields through ``crm_import_columns`` (``crm.contrib.ImportColumn``), as ``x_<name>``."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from crm.i18n import _l

IGNORE = ""


@dataclass(frozen=True)
class Field:
    name: str
    label: Any
    aliases: tuple = ()          # header texts that name this field
    weak: tuple = ()             # texts that name it only when no other column took it
    group: str = "customer"      # customer | contact | reference | plugin | activity | purchase
    column: Any = None           # the plugin's ImportColumn


def normalise_header(text: str) -> str:
    """``" 规模（人）* "`` -> ``"规模(人)"``; ``"E-Mail"`` -> ``"email"``."""
    text = unicodedata.normalize("NFKC", text or "").casefold()
    return re.sub(r"[\s_\-*:.#/]+", "", text)


def _without_brackets(text: str) -> str:
    return re.sub(r"\([^)]*\)", "", text)


CUSTOMER_FIELDS = [
    Field("number", _l("Number"), ("客户编号", "编号", "客户号", "客户代码", "number",
                                   "customernumber", "customerno", "customercode", "no")),
    Field("kind", _l("Type"), ("类型", "客户类型", "type", "kind", "customertype")),
    Field("name", _l("Name"), ("客户名称", "名称", "公司名称", "公司", "企业名称", "单位名称",
                               "客户", "客户名", "客户姓名", "会员姓名", "name", "company",
                               "companyname", "customer", "customername", "organisation",
                               "organization"), weak=("姓名", "fullname")),
    Field("phone", _l("Phone"), ("手机", "电话", "手机号", "手机号码", "电话号码", "联系电话",
                                 "客户电话", "移动电话", "座机", "phone", "mobile", "tel",
                                 "telephone", "phonenumber", "mobilephone", "cellphone",
                                 "cell")),
    Field("email", _l("E-mail"), ("邮箱", "电子邮件", "电子邮箱", "邮件", "邮箱地址", "email",
                                  "mail", "emailaddress")),
    Field("industry", _l("Industry"), ("行业", "所属行业", "行业类别", "industry", "sector")),
    Field("size", _l("Size"), ("规模", "规模(人)", "公司规模", "企业规模", "人数", "员工人数",
                               "size", "companysize", "employees", "headcount")),
    Field("region", _l("Region"), ("地区", "区域", "所在地区", "城市", "省市", "所在城市", "地域",
                                   "region", "area", "city", "location")),
    Field("founded_on", _l("Founded on"), ("成立日期", "成立时间", "成立", "注册日期", "founded",
                                           "foundedon", "established", "founded date")),
    Field("value_class", _l("Value class"), ("价值等级", "客户等级", "等级", "级别", "客户级别",
                                             "valueclass", "class", "grade", "level", "rating",
                                             "tier")),
    Field("owner", _l("Owner"), ("负责人", "客户负责人", "销售", "销售员", "业务员", "客户经理",
                                 "归属人", "所属销售", "跟进人", "owner", "salesrep",
                                 "accountmanager", "assignedto", "accountowner")),
    Field("source", _l("Source"), ("来源", "客户来源", "渠道来源", "获客渠道", "source",
                                   "leadsource")),
    Field("preferred_channel", _l("Preferred channel"), ("首选联系方式", "联系方式偏好", "首选渠道",
                                                         "偏好渠道", "preferredchannel",
                                                         "channel")),
    Field("address", _l("Address"), ("地址", "详细地址", "公司地址", "联系地址", "通讯地址",
                                     "address")),
    Field("notes", _l("Notes"), ("备注", "说明", "描述", "客户备注", "notes", "note", "remarks",
                                 "remark", "comment", "comments", "description")),
    Field("tags", _l("Tags"), ("标签", "客户标签", "tags", "tag", "labels")),
    Field("consent_phone", _l("Consent to calls"), ("同意电话联系", "接受电话", "consenttocalls",
                                                    "consentphone")),
    Field("consent_sms", _l("Consent to SMS"), ("同意短信联系", "接受短信", "consenttosms",
                                                "consentsms")),
    Field("consent_email", _l("Consent to e-mail"), ("同意邮件联系", "接受邮件", "consenttoemail",
                                                     "consentemail")),
    Field("consent_wechat", _l("Consent to WeChat"), ("同意微信联系", "接受微信",
                                                      "consenttowechat", "consentwechat")),
    Field("created_at", _l("Created"), ("创建时间", "创建日期", "建档日期", "录入时间", "created",
                                        "createdat", "createdon", "datecreated")),
    Field("last_contacted_at", _l("Last contact"), ("最近联系", "最近联系时间", "最后联系时间",
                                                    "上次联系", "lastcontact",
                                                    "lastcontacted", "lastcontactedat")),
    Field("contact_name", _l("Contact name"), ("联系人", "联系人姓名", "联系人名称", "contact",
                                               "contactname", "contactperson"),
          weak=("姓名", "fullname"), group="contact"),
    Field("contact_title", _l("Contact title"), ("职务", "职位", "联系人职务", "联系人职位",
                                                 "title", "jobtitle", "position",
                                                 "contacttitle"), group="contact"),
    Field("contact_mobile", _l("Contact mobile"), ("联系人手机", "联系人手机号", "联系人电话",
                                                   "contactmobile", "contactphone"),
          group="contact"),
    Field("contact_phone", _l("Contact landline"), ("联系人座机", "联系人固话", "固定电话",
                                                    "contactlandline", "landline"),
          group="contact"),
    Field("contact_email", _l("Contact e-mail"), ("联系人邮箱", "联系人邮件", "contactemail"),
          group="contact"),
    Field("contact_wechat", _l("Contact WeChat ID"), ("微信", "微信号", "联系人微信", "wechat",
                                                      "wechatid", "contactwechat"),
          group="contact"),
]

# the customer an activity or a purchase belongs to, by the key the user picks
REFERENCE_FIELDS = [
    Field("number", _l("Customer number"), ("客户编号", "编号", "客户号", "number",
                                            "customernumber", "customerno"), group="reference"),
    Field("phone", _l("Customer phone"), ("客户电话", "客户手机", "手机", "电话", "手机号",
                                          "联系电话", "phone", "mobile", "customerphone"),
          group="reference"),
    Field("email", _l("Customer e-mail"), ("客户邮箱", "邮箱", "电子邮件", "email",
                                           "customeremail"), group="reference"),
    Field("name", _l("Customer name"), ("客户名称", "客户", "客户名", "名称", "公司名称", "姓名",
                                        "customer", "customername", "name", "company"),
          group="reference"),
]

ACTIVITY_FIELDS = REFERENCE_FIELDS + [
    Field("kind", _l("Type"), ("类型", "方式", "跟进方式", "联系方式", "活动类型", "type", "kind"),
          group="activity"),
    Field("occurred_at", _l("When"), ("时间", "日期", "跟进时间", "联系时间", "发生时间", "跟进日期",
                                      "when", "date", "time", "occurredat"), group="activity"),
    Field("summary", _l("Summary"), ("内容", "摘要", "跟进内容", "记录", "沟通内容", "跟进记录",
                                     "summary", "content", "notes", "note", "description"),
          group="activity"),
    Field("outcome", _l("Outcome"), ("结果", "跟进结果", "outcome", "result"), group="activity"),
    Field("next_followup_on", _l("Next follow-up"), ("下次跟进", "下次跟进日期", "下次跟进时间",
                                                     "nextfollowup", "nextfollowupon",
                                                     "followup"), group="activity"),
    Field("user", _l("Logged by"), ("记录人", "跟进人", "负责人", "销售", "业务员", "user",
                                    "loggedby", "by"), group="activity"),
]

PURCHASE_FIELDS = REFERENCE_FIELDS + [
    Field("product", _l("Product"), ("商品", "产品", "商品名称", "产品名称", "商品编码", "产品编号",
                                     "sku", "product", "productname", "item"), group="purchase"),
    Field("quantity", _l("Quantity"), ("数量", "件数", "quantity", "qty", "count"),
          group="purchase"),
    Field("purchased_at", _l("Purchased on"), ("购买时间", "购买日期", "下单时间", "日期", "时间",
                                               "purchasedat", "purchasedon", "date", "time"),
          group="purchase"),
    Field("note", _l("Note"), ("备注", "说明", "note", "notes", "remark"), group="purchase"),
    Field("user", _l("Sold by"), ("经手人", "销售", "销售员", "收银员", "营业员", "user", "soldby",
                                  "seller"), group="purchase"),
]

KIND_FIELDS = {"customers": CUSTOMER_FIELDS, "activities": ACTIVITY_FIELDS,
               "purchases": PURCHASE_FIELDS}


def plugin_fields(columns) -> list[Field]:
    """``ImportColumn``s of plugins as fields ``x_<name>``; the column's label is an alias."""
    out = []
    for column in columns:
        aliases = tuple(normalise_header(a) for a in (column.aliases or ()))
        aliases += (normalise_header(str(column.label)),)
        out.append(Field("x_" + column.name, column.label, aliases, group="plugin",
                         column=column))
    return out


def fields_for(kind: str, plugin_columns=()) -> list[Field]:
    fields = list(KIND_FIELDS[kind])
    if kind == "customers":
        fields += plugin_fields(plugin_columns)
    return fields


def _export_labels() -> dict[str, str]:
    """{normalised export label: field name} in every language the CRM speaks."""
    from flask import current_app
    from flask_babel import force_locale

    from crm.exports.services import CORE_COLUMNS
    out = {}
    for locale in current_app.config.get("LANGUAGES") or ["zh_CN", "en"]:
        with force_locale(locale):
            for column in CORE_COLUMNS:
                out.setdefault(normalise_header(str(column.label)), column.name)
    return out


def _labels(fields) -> dict[str, str]:
    """{normalised label of each field in every language: field name}."""
    from flask import current_app
    from flask_babel import force_locale
    out = {}
    for locale in current_app.config.get("LANGUAGES") or ["zh_CN", "en"]:
        with force_locale(locale):
            for f in fields:
                out.setdefault(normalise_header(str(f.label)), f.name)
    return out


def guess(headers: list[str], fields: list[Field], kind: str = "customers") -> dict[int, str]:
    """{column index: field name} for the columns whose header is recognised.  Each field is
    given to one column at most: exact labels first (the export's own, then the fields'),
    then aliases, then weak aliases."""
    names = {f.name for f in fields}
    normalised = [normalise_header(h) for h in headers]
    mapping: dict[int, str] = {}
    taken: set[str] = set()

    def assign(lookup) -> None:
        for index, header in enumerate(normalised):
            if index in mapping or not header:
                continue
            for candidate in (header, _without_brackets(header)):
                choice = lookup(candidate)
                if choice and choice in names and choice not in taken:
                    mapping[index] = choice
                    taken.add(choice)
                    break

    if kind == "customers":
        exported = _export_labels()
        assign(exported.get)
    labels = _labels(fields)
    assign(labels.get)
    for attr in ("aliases", "weak"):
        table: dict[str, list[str]] = {}
        for f in fields:
            for alias in getattr(f, attr):
                table.setdefault(normalise_header(alias), []).append(f.name)
        assign(lambda h: next((n for n in table.get(h, ()) if n not in taken), None))
    return dict(sorted(mapping.items()))


def from_template(headers: list[str], saved: dict[str, str], fields: list[Field]) -> dict[int, str]:
    """A saved mapping ({header text: field}) applied to this file's header."""
    names = {f.name for f in fields}
    by_header = {normalise_header(h): v for h, v in saved.items() if v in names}
    mapping, taken = {}, set()
    for index, header in enumerate(headers):
        field = by_header.get(normalise_header(header))
        if field and field not in taken:
            mapping[index] = field
            taken.add(field)
    return mapping


def to_template(headers: list[str], mapping: dict[int, str]) -> dict[str, str]:
    return {headers[i]: f for i, f in mapping.items() if i < len(headers) and f and headers[i]}
