"""Customer rows: one row is a customer, with an optional contact and plugin columns.

``classify(batch)`` validates each row (through the forms' own functions), matches it to an
existing customer by the chosen key inside the user's scope, and decides: create, update
(with the diff old -> new of the fields the row changes), skip (nothing changes) or error.
``write(outcomes)`` carries out a batch's decisions inside the caller's transaction: creates
through ``crm.bulk.bulk_create_customers``, updates through
``crm.customers.services.update_customer`` (audited per field, with optimistic locking),
contacts through ``save_contact``, plugin columns through their ``save``.

An empty cell never changes anything: an update changes only the fields the row fills.
"""
from __future__ import annotations

from flask import current_app
from peewee import Case

from crm import access, bulk
from crm.accounts.models import User
from crm.customers import search_tokens
from crm.customers import services as customer_services
from crm.customers.forms import CHANNEL_LABELS, KIND_LABELS, SOURCE_LABELS, VALUE_LABELS
from crm.customers.models import SIZES, Contact, Customer, CustomerTag, Tag
from crm.i18n import _l
from crm.imports import cleaning, columns
from crm.imports.cleaning import CellError
from crm.imports.matching import KeyIndex, normalise_key
from crm.imports.outcome import Outcome, jsonable
from crm.plugins import host
from crm.validation import check_company_name

TEXT_LIMITS = {"industry": 100, "region": 100, "address": 300, "notes": 5000, "number": 32,
               "contact_name": 100, "contact_title": 100, "contact_wechat": 64}
CONTACT_MAP = {"contact_name": "name", "contact_title": "title", "contact_mobile": "mobile",
               "contact_phone": "phone", "contact_email": "email", "contact_wechat": "wechat"}
CONSENTS = ("consent_phone", "consent_sms", "consent_email", "consent_wechat")
KIND_WORDS = {"公司": "company", "企业客户": "company", "个人客户": "person", "个人": "person",
              "org": "company", "organisation": "company", "individual": "person"}
VALUE_WORDS = {"重点": "A", "重要": "B", "普通": "C", "一般": "C", "低价值": "D", "key": "A",
               "important": "B", "regular": "C", "low": "D"}
SOURCE_WORDS = {"到店": "walk_in", "自然到店": "walk_in", "介绍": "referral", "转介绍": "referral",
                "网站": "website", "官网": "website", "展会": "exhibition", "电销": "cold_call",
                "电话营销": "cold_call", "微信": "wechat", "合作伙伴": "partner", "其他": "other",
                "walkin": "walk_in", "coldcall": "cold_call"}
CHANNEL_WORDS = {"电话": "phone", "手机": "phone", "短信": "sms", "微信": "wechat",
                 "邮件": "email", "邮箱": "email", "电子邮件": "email", "拜访": "visit",
                 "上门": "visit", "call": "phone"}


def import_columns(user) -> list:
    """The plugins' ``ImportColumn``s for ``user`` (a failing plugin is left out; a name
    taken twice keeps the first)."""
    from crm.contrib import ImportColumn
    found, names = [], set()
    for column in host().collect("crm_import_columns", user=user):
        if isinstance(column, ImportColumn) and column.name not in names:
            names.add(column.name)
            found.append(column)
    return found


class CustomerRows:
    kind = "customers"

    def __init__(self, job, user, settings: customer_services.Settings):
        self.user = user
        self.settings = settings
        self.mapping = job.mapping_dict
        options = job.options_dict
        self.key = options.get("key") or "number"
        self.default_kind = options.get("default_kind") or "company"
        self.plugin_columns = {"x_" + c.name: c for c in import_columns(user)}
        self.labels = {f.name: f.label for f in columns.fields_for(
            "customers", self.plugin_columns.values())}
        self.region = current_app.config.get("PHONE_REGION", "CN")
        self.owners = cleaning.Owners(user)
        self.kinds = cleaning.choice_table(KIND_LABELS, KIND_WORDS)
        self.sizes = cleaning.choice_table({s: s for s in SIZES},
                                           {s + "人": s for s in SIZES})
        self.values = cleaning.choice_table(VALUE_LABELS, VALUE_WORDS)
        self.sources = cleaning.choice_table({k: v for k, v in SOURCE_LABELS.items() if k},
                                             SOURCE_WORDS)
        self.channels = cleaning.choice_table(CHANNEL_LABELS, CHANNEL_WORDS)
        self.index = KeyIndex(self.key, user)
        self.may_create = access.can(user, "customer.create")
        self.validators = bool(host().pm.hook.crm_validate_customer.get_hookimpls())
        self.seen: dict[str, int] = {}
        self.parsers = self._parsers()

    # -- one row -----------------------------------------------------------------------------

    def _label(self, field: str) -> str:
        return str(self.labels.get(field, field))

    def _parsers(self) -> dict:
        """{field: function(text) -> value}: the forms' checks for each field."""
        def limited(n):
            return lambda text: cleaning.text(text, n)

        def choice(table):
            return lambda text: cleaning.choose(text, table)

        def phone(text):
            return cleaning.phone(text, self.region)

        parsers = {field: limited(n) for field, n in TEXT_LIMITS.items()}
        parsers.update(
            name=limited(200), phone=phone, contact_mobile=phone, contact_phone=phone,
            email=cleaning.email, contact_email=cleaning.email, kind=choice(self.kinds),
            size=choice(self.sizes), value_class=choice(self.values),
            source=choice(self.sources), preferred_channel=choice(self.channels),
            founded_on=cleaning.date, owner=self.owners.find,
            created_at=lambda text: cleaning.datetime(text, None),       # the export: UTC
            last_contacted_at=lambda text: cleaning.datetime(text, None),
            tags=customer_services.parse_tags,
            **{field: cleaning.boolean for field in CONSENTS})
        for field, column in self.plugin_columns.items():
            parsers[field] = self._plugin_parser(column)
        return parsers

    @staticmethod
    def _plugin_parser(column):
        def parse(text):
            try:
                return column.parse(text)
            except ValueError as exc:
                raise CellError(str(exc.args[0]) if exc.args else str(exc)) from None
        return parse

    def _clean(self, line: int, raw: list) -> Outcome | None:
        texts, formulas = cleaning.cells(raw, self.mapping)
        if not texts and not formulas:
            return None                                   # a blank line
        outcome = Outcome(line, raw)
        errors = [str(_l("%(column)s: looks like a spreadsheet formula, which is refused for "
                         "safety.", column=self._label(f))) for f in formulas]
        parsed = {}
        parsers = self.parsers
        for field, text in texts.items():
            try:
                parsed[field] = parsers[field](text)
            except CellError as exc:
                errors.append(f"{self._label(field)}: {exc.args[0]}")
        outcome.label = (parsed.get("name") or texts.get("name") or "")[:200]
        if errors:
            return outcome.fail(" ".join(errors))
        outcome.values = {k: v for k, v in parsed.items() if k in customer_services.EDITABLE}
        if "tags" in parsed:
            outcome.tags = parsed["tags"]
        contact = {CONTACT_MAP[k]: v for k, v in parsed.items() if k in CONTACT_MAP}
        if contact:
            contact.setdefault("name", parsed.get("name", ""))
            outcome.contact = contact
        outcome.extras = [(self.plugin_columns[k], v) for k, v in parsed.items()
                          if k in self.plugin_columns]
        outcome.stamps = {k: parsed[k] for k in ("created_at", "last_contacted_at")
                          if k in parsed}
        outcome.key = normalise_key(self.key, str(parsed.get(self.key) or ""))
        return outcome

    # -- a batch -------------------------------------------------------------------------------

    def clean(self, batch: list[tuple[int, list]]) -> list[Outcome]:
        """The part of a batch that needs no database: parse and check every row, and compute
        the search tokens of its names into their cache (``search_tokens.name_tokens``), where
        ``bulk`` finds them.  ``services.run`` calls it in a helper thread for the next
        batch while this one is written (the database drivers release the GIL), so the two
        cores of a small server both work; nothing here may depend on what an earlier batch
        wrote (matching is ``classify``'s, in the batch's transaction)."""
        outcomes = [o for o in (self._clean(line, raw) for line, raw in batch) if o is not None]
        for outcome in outcomes:
            if outcome.action != "error":
                # the same arguments as bulk's customer_tokens: the cache's keys
                search_tokens.name_tokens(outcome.values.get("name", ""))
                if outcome.contact:
                    search_tokens.name_tokens(outcome.contact.get("name", ""))
        return outcomes

    def classify(self, batch: list[tuple[int, list]],
                 cleaned: list[Outcome] | None = None) -> list[Outcome]:
        """What each row of ``batch`` does (create, update, skip or error); ``cleaned``: the
        batch's ``clean`` if it was computed ahead."""
        outcomes = self.clean(batch) if cleaned is None else cleaned
        matched: dict[int, Outcome] = {}
        for outcome in outcomes:
            if outcome.action == "error":
                continue
            if outcome.key:
                if outcome.key in self.seen:
                    outcome.fail(_l("Same %(key)s as line %(line)s of this file.",
                                    key=self._label(self.key), line=self.seen[outcome.key]))
                    continue
                self.seen[outcome.key] = outcome.line
                inside, outside = self.index.find(outcome.key)
                if len(inside) > 1:
                    outcome.fail(_l("%(n)s of your customers have this %(key)s: fix the "
                                    "duplicates first, or match on another column.",
                                    n=len(inside), key=self._label(self.key)))
                    continue
                if inside:
                    outcome.action, outcome.record_id = "update", inside[0]
                    matched[inside[0]] = outcome
                    continue
                if outside:
                    outcome.fail(_l("Not found or not yours: a customer with this %(key)s "
                                    "exists, but you may not update it (or it is in the "
                                    "trash).", key=self._label(self.key)))
                    continue
            self._as_create(outcome)
        if matched:
            self._as_updates(matched)
        return outcomes

    def _validate_plugins(self, outcome: Outcome, data: dict, customer) -> bool:
        if not self.validators:
            return True
        data = {**data, **{column.name: value for column, value in outcome.extras}}
        errors = host().collect("crm_validate_customer", data=data, customer=customer,
                                user=self.user)
        if errors:
            outcome.fail(" ".join(str(e.message) for e in errors))
            return False
        return True

    def _as_create(self, outcome: Outcome) -> None:
        if not self.may_create:
            outcome.fail(_l("You may not create customers."))
            return
        values = outcome.values
        if not values.get("name"):
            outcome.fail(_l("%(column)s: required to create a customer.",
                            column=self._label("name")))
            return
        values.setdefault("kind", self.default_kind)
        if values["kind"] == "company":
            try:
                check_company_name(values["name"])
            except ValueError as exc:
                outcome.fail(f"{self._label('name')}: {exc.args[0]}")
                return
        if self.validators:
            defaults = {k: (Customer._meta.fields[k].default if k != "owner" else self.user.id)
                        for k in customer_services.EDITABLE}
            if not self._validate_plugins(outcome, {**defaults, **values}, None):
                return
        outcome.action = "create"

    def _as_updates(self, matched: dict[int, Outcome]) -> None:
        ids = list(matched)
        customers = {c.id: c for c in Customer.select().where(Customer.id.in_(ids))}
        tags: dict[int, list[str]] = {}
        if any(o.tags is not None for o in matched.values()):
            for cid, name in (CustomerTag.select(CustomerTag.customer, Tag.name).join(Tag)
                              .where(CustomerTag.customer.in_(ids)).tuples()):
                tags.setdefault(cid, []).append(name)
        contacts: dict[int, set] = {}
        if any(o.contact for o in matched.values()):
            for cid, name in (Contact.select(Contact.customer, Contact.name)
                              .where(Contact.customer.in_(ids)).tuples()):
                contacts.setdefault(cid, set()).add(cleaning.normalise_name(name))
        for cid, outcome in matched.items():
            customer = customers.get(cid)
            if customer is None:
                outcome.fail(_l("Not found or not yours."))
                continue
            outcome.label = customer.name
            if not access.can(self.user, "customer.edit", customer):
                outcome.fail(_l("You may not edit this customer (%(number)s).",
                                number=customer.number))
                continue
            self._diff(outcome, customer, sorted(tags.get(cid, [])), contacts.get(cid, set()))

    def _diff(self, outcome: Outcome, customer, current_tags: list, contact_names: set) -> None:
        values = dict(outcome.values)
        kind = values.get("kind", customer.kind)
        if kind == "company" and ("name" in values or "kind" in values):
            try:
                check_company_name(values.get("name", customer.name))
            except ValueError as exc:
                outcome.fail(f"{self._label('name')}: {exc.args[0]}")
                return
        diff, changes = {}, {}
        for field, new in values.items():
            old = customer.owner_id if field == "owner" else getattr(customer, field)
            if old != new:
                changes[field] = new
                diff[field] = [jsonable(old), jsonable(new)]
        if outcome.tags is not None and sorted(outcome.tags) != current_tags:
            diff["tags"] = [", ".join(current_tags), ", ".join(sorted(outcome.tags))]
        else:
            outcome.tags = None
        extras = []
        for column, value in outcome.extras:
            old = column.load(customer) if column.load else None
            if column.load is None or old != value:
                extras.append((column, value))
                diff["x_" + column.name] = [jsonable(old), jsonable(value)]
        outcome.extras = extras
        if outcome.contact and cleaning.normalise_name(outcome.contact["name"]) \
                not in contact_names:
            diff["_contact"] = [None, outcome.contact["name"]]
        else:
            outcome.contact = None
        if not diff:
            outcome.values = {}
            outcome.skip(_l("Nothing to change: the customer already has these values."))
            return
        current = {k: (customer.owner_id if k == "owner" else getattr(customer, k))
                   for k in customer_services.EDITABLE}
        if not self._validate_plugins(outcome, {**current, **changes}, customer):
            return
        outcome.values = changes
        outcome.diff = diff
        outcome.expected_version = customer.version

    # -- writing -------------------------------------------------------------------------------

    def write(self, outcomes: list[Outcome]) -> None:
        creates = [o for o in outcomes if o.action == "create"]
        if creates:
            self._create(creates)
        for outcome in outcomes:
            if outcome.action == "update":
                self._update(outcome)

    def _create(self, creates: list[Outcome]) -> None:
        rows = []
        for outcome in creates:
            row = dict(outcome.values)
            if outcome.tags:
                row["tags"] = outcome.tags
            if outcome.contact:
                row["contacts"] = [dict(outcome.contact, is_primary=True)]
            if outcome.stamps.get("created_at"):
                row["created_at"] = outcome.stamps["created_at"]
            rows.append(row)
        ids = bulk.bulk_create_customers(rows, self.user, self.settings,
                                         batch_size=max(len(rows), 1))
        touched = {}
        for outcome, customer_id in zip(creates, ids):
            outcome.record_id = customer_id
            outcome.version = 1
            contacted = outcome.stamps.get("last_contacted_at")
            if contacted:
                touched[customer_id] = contacted
            self.index.add(outcome.key, customer_id)
        if touched:
            Customer.update(last_contacted_at=Case(Customer.id, list(touched.items()))).where(
                Customer.id.in_(list(touched))).execute()
        with_extras = [o for o in creates if o.extras]
        if with_extras:
            customers = {c.id: c for c in Customer.select().where(
                Customer.id.in_([o.record_id for o in with_extras]))}
            for outcome in with_extras:
                for column, value in outcome.extras:
                    column.save(customers[outcome.record_id], value)

    def _update(self, outcome: Outcome) -> None:
        try:
            customer = customer_services.update_customer(
                outcome.record_id, outcome.values, outcome.expected_version, self.user,
                tags=outcome.tags, extra_save=outcome.extras)
        except customer_services.Conflict:
            outcome.fail(_l("Changed by somebody else during the import: import this row "
                            "again."))
            return
        if outcome.contact:
            contact = customer_services.save_contact(customer, outcome.contact, self.user)
            outcome.diff["_contact"] = [None, outcome.contact["name"], contact.id]
        outcome.version = Customer.get_by_id(customer.id).version


def display_value(field: str, value, users: dict | None = None) -> str:
    """A diff value as the dry run shows it (``users``: {id: name} for owners)."""
    if value is None or value == "":
        return "—"
    if field == "owner":
        if users is None:
            user = User.get_or_none(User.id == value)
            return user.name if user else str(value)
        return users.get(value, str(value))
    if isinstance(value, bool):
        return "Y" if value else "N"
    if field == "phone":
        from crm.validation import display_phone
        return display_phone(value)
    return str(value)
