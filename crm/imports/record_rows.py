"""Activity and purchase rows: each row is a new record on an existing customer, found by the
key the user picked (customer number, phone, e-mail or name) inside the user's scope.  A row
never creates a customer: an unknown customer is an error, one outside the scope is "not
found or not yours".  Written through ``crm.bulk`` (``bulk_log_activities``,
``bulk_record_purchases``): timeline, "last contacted", outbox events, prices from the
catalogue, as the one-by-one services do."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import current_app

from crm import access, bulk
from crm.activities.forms import KIND_LABELS, LOGGABLE, OUTCOME_LABELS
from crm.activities.models import OUTCOMES
from crm.customers.models import Customer
from crm.i18n import _l
from crm.imports import cleaning, columns
from crm.imports.cleaning import CellError
from crm.imports.matching import KeyIndex, normalise_key
from crm.imports.outcome import Outcome
from crm.purchases.models import Product

ACTIVITY_WORDS = {"电话": "call", "打电话": "call", "来电": "call", "去电": "call", "拜访": "visit",
                  "上门": "visit", "到访": "visit", "会议": "meeting", "开会": "meeting",
                  "邮件": "email", "电子邮件": "email", "微信": "wechat", "短信": "sms",
                  "备注": "note", "记录": "note", "phone": "call", "phonecall": "call",
                  "e-mail": "email", "mail": "email"}
OUTCOME_WORDS = {"接通": "reached", "未接": "no_answer", "无人接听": "no_answer",
                 "有兴趣": "interested", "没兴趣": "not_interested", "待跟进": "follow_up",
                 "跟进": "follow_up", "已完成": "done", "完成": "done"}


class RecordRows:
    """What activity and purchase rows share: the customer they belong to, and who."""
    kind = ""
    permission = ""

    def __init__(self, job, user, settings):
        self.user = user
        self.mapping = job.mapping_dict
        options = job.options_dict
        self.key = options.get("key") or "number"
        self.labels = {f.name: f.label for f in columns.fields_for(self.kind)}
        self.region = current_app.config.get("PHONE_REGION", "CN")
        self.tz = ZoneInfo(settings.timezone)
        self.users = cleaning.Users()
        self.index = KeyIndex(self.key, user)
        self.key_mapped = self.key in self.mapping.values()

    def _label(self, field: str) -> str:
        return str(self.labels.get(field, field))

    def _customer_key(self, text: str) -> str:
        if self.key == "phone":
            text = cleaning.phone(text, self.region)
        elif self.key == "email":
            text = cleaning.email(text)
        return normalise_key(self.key, text)

    def _parse(self, field: str, text: str):
        raise NotImplementedError

    def classify(self, batch):
        outcomes = []
        for line, raw in batch:
            texts, formulas = cleaning.cells(raw, self.mapping)
            if not texts and not formulas:
                continue
            outcome = Outcome(line, raw)
            outcomes.append(outcome)
            errors = [str(_l("%(column)s: looks like a spreadsheet formula, which is refused "
                             "for safety.", column=self._label(f))) for f in formulas]
            parsed = {}
            for field, text in texts.items():
                try:
                    if field in ("number", "phone", "email", "name"):
                        if field == self.key:
                            outcome.key = self._customer_key(text)
                        continue
                    parsed[field] = self._parse(field, text)
                except CellError as exc:
                    errors.append(f"{self._label(field)}: {exc.args[0]}")
            if not outcome.key and not errors:
                errors.append(str(_l("%(column)s: required, to find the customer.",
                                     column=self._label(self.key))))
            errors.extend(self._required(parsed))
            if errors:
                outcome.fail(" ".join(errors))
                continue
            inside, outside = self.index.find(outcome.key)
            if len(inside) > 1:
                outcome.fail(_l("%(n)s of your customers have this %(key)s: match on another "
                                "column.", n=len(inside), key=self._label(self.key)))
            elif not inside:
                outcome.fail(_l("Not found or not yours: no customer of yours has this "
                                "%(key)s.", key=self._label(self.key)))
            else:
                outcome.record_id = None
                outcome.values = dict(parsed, customer=inside[0])
        ids = {o.values["customer"] for o in outcomes if o.action == "create"}
        customers = {c.id: c for c in Customer.select().where(Customer.id.in_(list(ids)))} \
            if ids else {}
        for outcome in outcomes:
            if outcome.action != "create":
                continue
            customer = customers.get(outcome.values["customer"])
            outcome.label = customer.name if customer else ""
            if customer is None or not access.can(self.user, self.permission, customer):
                outcome.fail(_l("You may not add this to that customer."))
        return outcomes

    def _required(self, parsed: dict) -> list[str]:
        return []

    def _user(self, text: str) -> int:
        return self.users.find(text)


class ActivityRows(RecordRows):
    kind = "activities"
    permission = "activity.log"

    def __init__(self, job, user, settings):
        super().__init__(job, user, settings)
        self.kinds = cleaning.choice_table({k: KIND_LABELS[k] for k in LOGGABLE}, ACTIVITY_WORDS)
        self.outcomes = cleaning.choice_table({o: OUTCOME_LABELS[o] for o in OUTCOMES if o},
                                              OUTCOME_WORDS)

    def _parse(self, field, text):
        if field == "kind":
            return cleaning.choose(text, self.kinds)
        if field == "occurred_at":
            return cleaning.datetime(text, self.tz)
        if field == "summary":
            return cleaning.text(text, 5000)
        if field == "outcome":
            return cleaning.choose(text, self.outcomes)
        if field == "next_followup_on":
            return cleaning.date(text)
        if field == "user":
            return self._user(text)
        return text

    def _required(self, parsed):
        if not parsed.get("summary"):
            return [str(_l("%(column)s: required.", column=self._label("summary")))]
        return []

    def write(self, outcomes):
        creates = [o for o in outcomes if o.action == "create"]
        if not creates:
            return
        rows = []
        for outcome in creates:
            values = dict(outcome.values)
            values.setdefault("kind", "note")
            values.setdefault("user", self.user.id)
            rows.append(values)
        ids = bulk.bulk_log_activities(rows, batch_size=len(rows))
        for outcome, record_id in zip(creates, ids):
            outcome.record_id = record_id


class PurchaseRows(RecordRows):
    kind = "purchases"
    permission = "purchase.record"

    def __init__(self, job, user, settings):
        super().__init__(job, user, settings)
        self.products: dict[str, list] = {}
        for product in Product.select(Product.id, Product.sku, Product.name, Product.active):
            for word in {cleaning.norm(product.sku), cleaning.norm(product.name)}:
                self.products.setdefault(word, []).append(product)

    def _parse(self, field, text):
        if field == "product":
            found = self.products.get(cleaning.norm(text), [])
            if len({p.id for p in found}) > 1:
                raise CellError(_l("Several products are called “%(name)s”: use the SKU.",
                                   name=text[:50]))
            if not found:
                raise CellError(_l("No product “%(name)s” (by SKU or name).", name=text[:50]))
            if not found[0].active:
                raise CellError(_l("“%(name)s” is not on sale.", name=text[:50]))
            return found[0].id
        if field == "quantity":
            return cleaning.integer(text, 1, 100_000)
        if field == "purchased_at":
            return cleaning.datetime(text, self.tz)
        if field == "note":
            return cleaning.text(text, 300)
        if field == "user":
            return self._user(text)
        return text

    def _required(self, parsed):
        if not parsed.get("product"):
            return [str(_l("%(column)s: required.", column=self._label("product")))]
        return []

    def write(self, outcomes):
        creates = [o for o in outcomes if o.action == "create"]
        if not creates:
            return
        rows = []
        for outcome in creates:
            values = outcome.values
            rows.append(dict(customer=values["customer"], user=values.get("user", self.user.id),
                             note=values.get("note", ""), purchased_at=values.get("purchased_at"),
                             lines=[(values["product"], values.get("quantity", 1))]))
        ids = bulk.bulk_record_purchases(rows, batch_size=len(rows))
        for outcome, record_id in zip(creates, ids):
            outcome.record_id = record_id
