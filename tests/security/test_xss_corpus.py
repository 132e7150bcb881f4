"""A corpus of XSS payloads, stored through the app's own forms (so through their validation) in
every text field of every form the pages offer -- customers, contacts, activities, purchases,
products, users, departments, tags, and the example plugin's customer field -- then every GET
endpoint of the URL map is rendered (full page, each htmx partial its page targets, each lazily
loaded card or panel) and inspected: no payload appears unescaped, no event handler or
``javascript:`` URL appears, and ``{{7*7}}`` never renders 49.

The forms are not hand-listed: each payload run walks the GET pages of the URL map as an
administrator and fills every text-like input and textarea of every POST form with the payload
(selects get an offered value, dates today, passwords a valid one).  A field whose validation
rejects the payload is counted as rejected (safe) in the figures and refilled with a harmless
value so that the rest of the form is still stored.
"""
from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import re
import unicodedata
from collections import Counter
from html.parser import HTMLParser
from urllib.parse import quote

import pytest

from tests.conftest import htmx
from tests.security._support import (ALLOW_LIST, Bundle, form_data, forms, routes,
                                     submit_plausibly, text_of, with_query)

PAYLOADS = [
    ("script element", "<script>alert('XSS01')</script>"),
    ("img onerror after a quote", "\"><img src=x onerror=alert('XSS02')>"),
    ("svg onload after an apostrophe", "'><svg onload=alert('XSS03')>"),
    ("javascript: URL", "javascript:alert('XSS04')"),
    ("double-quoted attribute breakout", "\" onmouseover=\"alert('XSS05')\" x=\""),
    ("single-quoted attribute breakout", "' onfocus='alert(/XSS06/)' autofocus x='"),
    ("template injection {{7*7}}, {{config}}, ${}", "XSS07{{7*7}}{{config}}${7*7}XSS07"),
    ("textarea/title breakout", "</textarea></title><script>alert('XSS09')</script>"),
    ("full-width brackets (NFKC to <script>)",
     "\uff1cscript\uff1ealert('XSS10')\uff1c/script\uff1e"),
    ("entity-encoded javascript: link", "<a href=\"jav&#x09;ascript:alert('XSS11')\">XSS11</a>"),
    ("RTL override and zero-width space", "\u202e<scr\u200bipt>alert('XSS13')</scr\u200bipt>"),
    ("htmx attributes",
     "<div hx-get=\"/logout\" hx-trigger=\"load\" hx-on::load=\"alert('XSS15')\">"),
]
MARK = re.compile(r"XSS\d\d")
SAFE_PASSWORD = "Xss-Pass-2024!"
TEXT_TYPES = ("text", "search", "email", "tel", "url", "textarea")
SKIP_ACTIONS = ("/login", "/logout")
URL_ATTRS = {"href", "src", "action", "formaction", "xlink:href", "data", "poster", "background",
             "hx-get", "hx-post", "hx-put", "hx-patch", "hx-delete", "ping", "cite"}
DANGEROUS_TAGS = {"script", "iframe", "object", "embed", "svg", "math", "base", "frame",
                  "frameset", "applet", "img", "video", "audio", "style", "link", "meta"}


# -- inspecting a page --------------------------------------------------------------------------


class Scanner(HTMLParser):
    """Executable markup in a page: event handler attributes (the app has none: its CSP forbids
    inline script), javascript:/vbscript:/data: URLs, hx-on attributes, srcdoc, and dangerous
    elements or script text carrying a payload's marker."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.findings: list[str] = []
        self._raw: str | None = None

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            name, value = name.lower(), value or ""
            if name.startswith("on") or name.startswith("hx-on") or name == "srcdoc":
                self.findings.append(f"<{tag} {name}={value[:60]!r}>")
            if name in URL_ATTRS:
                squeezed = re.sub(r"[\x00-\x20]", "", value).lower()
                if squeezed.startswith(("javascript:", "vbscript:", "data:text")):
                    self.findings.append(f"<{tag} {name}={value[:60]!r}> (script URL)")
            if MARK.search(name):
                self.findings.append(f"<{tag}> has an attribute named {name!r} (breakout)")
        if tag in DANGEROUS_TAGS and any(MARK.search(v or "") for _n, v in attrs):
            self.findings.append(f"<{tag}> carrying a payload: {attrs!r:.100}")
        if MARK.search(tag):
            self.findings.append(f"an element <{tag}>")
        if tag in ("script", "style"):
            self._raw = tag

    def handle_endtag(self, tag):
        if tag == self._raw:
            self._raw = None

    def handle_data(self, data):
        if self._raw and MARK.search(data):
            self.findings.append(f"<{self._raw}> text carrying a payload: {data[:80]!r}")


def inspect_response(response) -> list[str]:
    """An HTML answer is inspected; any other (a JSON or CSV download) must say what it is and
    forbid sniffing, so that no browser renders it as HTML."""
    if response.mimetype in ("text/html", "") or response.status_code in (204, 302, 303):
        return inspect(text_of(response))
    problems = []
    if response.mimetype in ("application/xhtml+xml", "image/svg+xml", "text/xml",
                             "application/xml"):
        problems.append(f"{response.mimetype} answer (a browser renders it)")
    if response.headers.get("X-Content-Type-Options") != "nosniff":
        problems.append(f"a {response.mimetype} answer without X-Content-Type-Options: nosniff")
    return problems


TAG = re.compile(r"<[a-zA-Z][^<>]*>")
RAW_TEXT = re.compile(r"<(script|style)\b[^>]*>(.*?)</\1\s*>", re.S | re.I)
SUSPECT = re.compile(r"\son[a-z]+\s*=|hx-on|srcdoc|script:", re.I)


def inspect(text: str) -> list[str]:
    problems = []
    for title, payload in PAYLOADS:
        for variant in dict.fromkeys((payload, unicodedata.normalize("NFKC", payload))):
            if any(c in variant for c in "<>\"'") and variant in text:
                problems.append(f"payload {title!r} appears unescaped")
    if re.search(r"XSS0749|\}\}49XSS07", text):
        problems.append("{{7*7}} rendered as 49 (server-side template injection)")
    if "<Config" in text or "&lt;Config" in text or "SECRET_KEY" in text:
        problems.append("{{config}} rendered the app's config")
    for _tag, body in RAW_TEXT.findall(text):
        if MARK.search(body):
            problems.append(f"<script>/<style> text carrying a payload: {body[:80]!r}")
    # only the tags around a payload's marker, or around something executable-looking, go
    # through the parser (it is slow)
    suspects = set()
    for found in list(MARK.finditer(text)) + list(SUSPECT.finditer(text)):
        start = text.rfind("<", 0, found.start())
        end = text.find(">", found.end())
        if start != -1 and end != -1:
            tag = TAG.match(text, start, end + 1)
            if tag:
                suspects.add(tag.group(0))
    if suspects:
        scanner = Scanner()
        scanner.feed("".join(suspects))
        scanner.close()
        problems += scanner.findings
    return problems


# -- storing through the forms ------------------------------------------------------------------


@dataclasses.dataclass
class Stored:
    bundles: list[Bundle] = dataclasses.field(default_factory=list)
    fields: set = dataclasses.field(default_factory=set)        # "action pattern: field"
    stored: Counter = dataclasses.field(default_factory=Counter)
    rejected: Counter = dataclasses.field(default_factory=Counter)
    findings: list[str] = dataclasses.field(default_factory=list)
    errors: list[str] = dataclasses.field(default_factory=list)
    submissions: int = 0
    form_pages: set | None = None        # after the first payload: the pages with forms
    fallback: dict = dataclasses.field(default_factory=dict)   # (form, field) -> what passed
    found_pages: set = dataclasses.field(default_factory=set)
    saved_globals: dict = dataclasses.field(default_factory=dict)
    refused: Counter = dataclasses.field(default_factory=Counter)   # forms refused as a whole


def _pattern(action: str) -> str:
    return re.sub(r"/\d+", "/<id>", action.split("?")[0])


def _invalid_fields(body: str) -> set[str]:
    out = set()
    for tag in re.findall(r"<(?:input|select|textarea)\b[^>]*>", body):
        if 'aria-invalid="true"' in tag:
            name = re.search(r'\bname="([^"]+)"', tag)
            if name:
                out.add(name.group(1))
    return out


def _choose(field: dict) -> str | None:
    for option in field.get("options", []):
        value = option["value"] if option["value"] is not None else option["text"]
        if (value or "").strip() and value != "0":
            return value
    return field.get("value")


def csv_of(payload: str) -> bytes:
    """A small CSV whose cells are the payload (an import shows them on its pages)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["name", "phone", "email", "notes"])
    writer.writerow([payload, "13900001234", "xss@example.com", payload])
    return out.getvalue().encode()


def submit(world, client, form, page_url: str, payload: str, index: int, result: Stored,
           overrides: dict, learned: dict | None = None) -> bool:
    """Fill every text field of ``form`` with ``payload`` (a file input gets a CSV of it) and
    post it until it is accepted; fields whose validation rejects the payload are counted and
    refilled harmlessly.  The ids in the redirect that follows go to ``learned``."""
    action = form.action or page_url
    data = form_data(form)
    original = dict(data)
    filled = []
    files = []
    for f in form.fields:
        kind, name = f["type"], f["name"]
        if kind in TEXT_TYPES:
            data[name] = payload
            filled.append(name)
        elif kind == "file":
            files.append(name)
            filled.append(name)
        elif kind == "date":
            data[name] = dt.date.today().isoformat()
        elif kind == "datetime-local" and not data.get(name):      # a week ahead: still open
            data[name] = (dt.datetime.now() + dt.timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")
        elif kind == "month" and not data.get(name):
            data[name] = dt.date.today().strftime("%Y-%m")
        elif kind == "number" and not data.get(name):
            data[name] = "1"
        elif kind == "password":
            data[name] = SAFE_PASSWORD
        elif kind == "select" and not (data.get(name) or "").strip():
            chosen = _choose(f)
            if chosen is not None:
                data[name] = chosen
    if not filled:
        return False
    for name, value in overrides.items():
        if name in data:
            data[name] = value
    data["confirm_duplicate"] = "1"
    rejected: set[str] = set()
    tries: dict[str, int] = {}
    key = _pattern(action)
    for _attempt in range(8):
        body_sent = dict(data)
        for name in files:
            body_sent[name] = (io.BytesIO(csv_of(payload)), "xss.csv")
        response = client.post(action, data=body_sent)
        result.submissions += 1
        body = text_of(response)
        for problem in inspect(body):
            result.findings.append(f"POST {action} ({payload!r:.40}): {problem}")
        if response.status_code >= 500:
            result.errors.append(f"POST {action} with {payload!r:.40}: {response.status_code}")
            return False
        if response.status_code in (302, 303):
            if learned is not None:
                _learn_created(world, client, action, response.headers["Location"], learned)
            for name, tried in tries.items():
                result.fallback[(key, name)] = tried - 1
            for name in filled:
                result.fields.add(f"{key}: {name}")
                if name in rejected:
                    result.rejected[f"{key}: {name}"] += 1
                else:
                    result.stored[f"{key}: {name}"] += 1
            if index < 3:     # the flash message (the record pages are checked later)
                follow = client.get(response.headers["Location"])
                for problem in inspect(text_of(follow)):
                    result.findings.append(f"GET {response.headers['Location']} after POST "
                                           f"{action}: {problem}")
            target = form.attrs.get("hx-target")
            if target and form.attrs.get("hx-post") and index < 3:   # the partial htmx swaps
                partial = client.post(action, data=data, headers=htmx(target.lstrip("#")))
                for problem in inspect(text_of(partial)):
                    result.findings.append(f"POST {action} as htmx: {problem}")
            return True
        invalid = _invalid_fields(body) & set(data)
        if not invalid:
            # refused as a whole (a workflow rule: a ticket not yet resolved cannot be
            # closed, a stale version...): nothing stored, nothing to refill; the answer was
            # inspected all the same
            result.refused[f"{key} ({response.status_code})"] += 1
            return False
        for name in invalid:
            if data[name] == payload:
                rejected.add(name)
            # the payload refused: what the page had, then plausible values of every kind
            phone, number = f"137{index:04d}{len(tries):04d}", str(20 + index)
            email, today = f"xss{index}@example.com", dt.date.today().isoformat()
            fallbacks = [original.get(name) or "", f"xsssafe{index}", phone, number,
                         f"Xss Safe {index} Trading Ltd.", today, email]
            month = f"{dt.date.today().year - 1 - index:04d}-{len(tries) % 12 + 1:02d}"
            hint = next((v for k, v in (("phone", phone), ("mobile", phone), ("tel", phone),
                                        ("month", month),
                                        ("mail", email), ("date", today), ("birthday", today),
                                        ("rank", number), ("points", number),
                                        ("price", number), ("amount", number))
                         if k in name.lower()), None)
            # a field naming a customer (a member chosen by id, a walk-in by number): one
            # the world's rep owns, which every submitting role sees
            own = world.bundles.get("own")
            customer_id, number = overrides.get("_customer") or (
                (str(own.customer), own.number) if own else ("", ""))
            exact = {"customer": customer_id, "number": number, "walk_in_number": number}
            hint = exact.get(name, hint)
            if hint:
                fallbacks.insert(1, hint)
            # the kind of value that passed for this field with an earlier payload comes first
            tried = tries.setdefault(name, result.fallback.get((key, name), 0))
            if tried < len(fallbacks):
                data[name] = fallbacks[tried]
                tries[name] = tried + 1
    result.errors.append(f"POST {action} with {payload!r:.40}: never accepted "
                         f"(last refused: {sorted(invalid)})")
    return False


def _latest(model, *where):
    query = model.select(model.id)
    for condition in where:
        query = query.where(condition)
    row = query.order_by(model.id.desc()).first()
    return row.id if row else None


def _learn_created(world, client, action: str, location: str, learned: dict) -> None:
    """The ids of what a form created: from the redirect (``/sales/deals/7``), else, when it
    went back to a list (a new task goes back to "My tasks"), the newest record of the form's
    own collection (``/tasks/...``) linked on that page."""
    before = dict(learned)
    world.learn(location, learned, True)
    if learned != before:
        return
    segment = "/" + action.split("?")[0].strip("/").split("/")[0] + "/"
    newest: dict = {}
    for url in re.findall(r'(?:href|action|hx-get|hx-post)="(/[^"]*)"',
                          text_of(client.get(location))):
        if not url.startswith(segment):
            continue
        found: dict = {}
        world.learn(url.replace("&amp;", "&"), found, True)
        for arg, value in found.items():
            newest[arg] = max(value, newest.get(arg, value))
    for arg, value in newest.items():
        learned[arg] = value


def _ids(world, customer_id: int | None, learned: dict | None = None) -> Bundle:
    from crm.accounts.models import User
    from crm.activities.models import Activity
    from crm.customers.models import Contact
    from crm.purchases.models import Product, Purchase
    bundle = Bundle("xss", "admin", "XSS")
    with world.ctx():
        bundle.customer = customer_id
        if customer_id:
            bundle.contact = _latest(Contact, Contact.customer == customer_id)
            bundle.activity = _latest(Activity, Activity.customer == customer_id)
            bundle.purchase = _latest(Purchase, Purchase.customer == customer_id)
            try:
                from crm.customers.models import CustomerShare
                bundle.share = _latest(CustomerShare, CustomerShare.customer == customer_id)
            except ImportError:
                bundle.share = None
        world.globals["product"] = _latest(Product)
        world.globals["user"] = _latest(User)
    bundle.extra = dict(learned or {})
    return bundle


def store(world, index: int, payload: str, result: Stored) -> Bundle:
    """Store ``payload`` through every form: first the pages without arguments (new user,
    department, product, customer, settings, an import's upload), then the pages of the new
    customer's records (contacts, activities, purchases, deals, tickets, needs, the counter);
    then a duplicate of the customer merged into it through the merge form.  The first payload
    walks every GET page of the URL map; the others visit the pages where it found a form
    (``result.form_pages``).  The returned bundle names the payload's records."""
    from crm.accounts.models import User
    from crm.customers.models import Customer
    client = world.client("admin")
    saved_globals = dict(world.globals)
    done: set = set()
    overrides: dict = {}
    learned: dict = {}          # ids of the payload's records, read from the redirects
    state = {"customer": None}

    def walk(route_list):
        ids = None
        for route in route_list:
            if result.form_pages is not None and route not in result.form_pages:
                continue
            if ids is None and route.arguments:
                ids = _ids(world, state["customer"], learned)   # again after each stored form
            try:
                url = world.url(route, bundle=ids)
            except AssertionError:
                continue          # a record this payload has none of (yet)
            fresh = True
            while fresh:      # after a form is stored, the page again (versions move on)
                fresh = False
                page = client.get(url)
                if page.status_code != 200:
                    break
                for form in forms(text_of(page)):
                    action = form.action or url
                    # an edit form with the fields of the create form, or one more row of a
                    # list of the same forms (s1-name, s2-name...), stores nothing new
                    signature = tuple(sorted({re.sub(r"\d+", "#", f["name"])
                                              for f in form.fields}))
                    if form.method != "post" or action.split("?")[0] in SKIP_ACTIONS \
                            or signature in done:
                        continue
                    done.add(signature)
                    if submit(world, client, form, url, payload, index, result, overrides,
                              learned):
                        result.found_pages.add(route)
                        ids, fresh = None, True
                        break

    getters = [r for r in routes() if "GET" in r.methods and r.endpoint not in ALLOW_LIST]
    before = _latest_id(world, Customer)
    walk([r for r in getters if not r.arguments])
    with world.ctx():
        user = User.select().order_by(User.id.desc()).first()
    overrides["owner"] = str(user.id)          # the payload's user owns what comes next
    state["customer"] = _latest_id(world, Customer)
    with world.ctx():      # a form naming a customer (a group's new member...) names this one
        overrides["_customer"] = (str(state["customer"]),
                                  Customer.get_by_id(state["customer"]).number)
    if state["customer"] == before:
        result.errors.append(f"payload {index}: no customer was created")
    # the pages that create a record first ("new"), then the records' own pages
    walk(sorted((r for r in getters if r.arguments), key=lambda r: ("new" not in r.rule, r.rule)))
    customer_id = state["customer"]
    _merge_a_duplicate(world, client, customer_id, payload, index, result, learned)
    bundle = _ids(world, customer_id, learned)
    bundle.label, bundle.marker = f"payload {index}", f"XSS{index + 1:02d}"
    bundle.product = world.globals["product"]
    bundle.user = world.globals["user"]
    bundle.settings = _newest_settings(world, client)
    # the trash and back (the flash messages name the customer), and its note pinned
    for step in ("delete", "restore"):
        response = client.post(f"/customers/{customer_id}/{step}")
        if response.status_code == 303:
            for problem in inspect(text_of(client.get(response.headers["Location"]))):
                result.findings.append(f"after {step} of payload {index}: {problem}")
    from tests.plugins.example_plugin.models import ExampleNote
    with world.ctx():
        ExampleNote.update(pinned=True).where(ExampleNote.customer == customer_id).execute()
    world.globals.update({k: v for k, v in saved_globals.items() if k not in ("product",
                                                                             "user")})
    return bundle


def _merge_a_duplicate(world, client, customer_id, payload, index, result, learned) -> None:
    """A second customer of the payload's name through the create form, merged into the first
    through the merge page's form: the merge's review page shows both sets of values."""
    from crm.customers.models import Customer
    merge_pages = [r for r in routes() if r.endpoint.endswith(".merge") and "POST" in r.methods]
    if not merge_pages:
        return
    page = client.get("/customers/new")
    form = next((f for f in forms(text_of(page)) if f.method == "post"
                 and (f.action or "/customers/new") == "/customers/new"), None)
    if form is None or not submit(world, client, form, "/customers/new", payload, index,
                                  Stored(), {"owner": str(world.user_id("admin"))}):
        result.errors.append(f"payload {index}: no duplicate to merge")
        return
    duplicate = _latest_id(world, Customer)
    url = f"{merge_pages[0].rule}?a={customer_id}&b={duplicate}"
    for merge_form in forms(text_of(client.get(url))):
        if merge_form.method == "post" and "merge" in (merge_form.action or url):
            response = submit_plausibly(client, merge_form, (merge_form.action or url))
            if response is not None and response.status_code in (302, 303):
                merged = re.search(r"/merges/(\d+)", response.headers["Location"])
                if merged:
                    learned["merge"] = int(merged.group(1))     # Bundle.get("merge")
                    return
    result.errors.append(f"payload {index}: the merge form did not merge")


def _newest_settings(world, client) -> dict:
    """The newest settings records (gifts, tiers, stages...): the payload's, made by its
    forms; read from the links of their list pages."""
    from tests.security._support import ARGS
    out = {}
    for arg, spec in ARGS.items():
        if spec.scoped or spec.key != arg or arg in ("name", "filename"):
            continue
        rules = [r for r in routes() if arg in r.arguments]
        if not rules:
            continue
        pattern = re.escape(rules[0].rule.split("<", 1)[0]) + r"(\d+)"
        segment = rules[0].rule.split("<", 1)[0].rstrip("/")
        found = []
        for route in routes():
            if not route.arguments and "GET" in route.methods and route.rule == segment:
                found += [int(i) for i in re.findall(pattern, text_of(client.get(route.rule)))]
        if found:
            out[arg] = max(found)
    return out


def _latest_id(world, model):
    with world.ctx():
        return _latest(model)


@pytest.fixture(scope="module")
def stored(world):
    result = Stored()
    result.saved_globals = dict(world.globals)
    for index, (_title, payload) in enumerate(PAYLOADS):
        result.bundles.append(store(world, index, payload, result))
        result.form_pages = set(result.found_pages)
    figures = world.figures.xss
    figures["payloads"] = len(PAYLOADS)
    figures["fields"] = sorted(result.fields)
    figures["stored"] = sum(result.stored.values())
    figures["rejected"] = sum(result.rejected.values())
    figures["rejected_by_field"].update(result.rejected)
    figures["submissions"] = result.submissions
    figures["forms_refused_as_a_whole"] = dict(result.refused)
    return result


# -- the tests ----------------------------------------------------------------------------------

GET_ROUTES = [r for r in routes() if "GET" in r.methods and r.endpoint not in ALLOW_LIST]


def test_every_payload_was_stored_somewhere(stored):
    assert not stored.errors, "\n".join(stored.errors)
    assert len(stored.bundles) == len(PAYLOADS)
    for key in stored.fields:
        assert stored.stored[key] + stored.rejected[key] > 0, key
    # the text fields the issue names were found in the forms, not listed by hand
    found = {key.split(": ")[1].removeprefix("contact-") for key in stored.fields}
    for name in ("name", "industry", "region", "address", "tags", "notes", "x_example_note",
                 "title", "wechat", "summary", "note", "sku", "category", "display_name"):
        assert name in found, (name, sorted(found))


def test_form_answers_and_flash_messages_are_escaped(stored):
    assert not stored.findings, "\n".join(stored.findings[:40])


@pytest.mark.parametrize("route", GET_ROUTES, ids=lambda r: f"GET {r.rule}")
def test_every_page_showing_the_payloads_escapes_them(world, stored, route):
    """As an administrator: the page of every payload's records, with the htmx partial of
    every target the page uses (first payload) or the fallback partial (the others), and the
    lazily loaded panels and cards; as service (masked values): the page of the first one."""
    problems = []
    checked = 0
    per_record = bool(set(route.arguments) - {"name"})
    bundles = stored.bundles if per_record else [None]
    for role in ("admin", "service"):
        client = world.client(role)
        for n, bundle in enumerate(bundles if role == "admin" else bundles[:1]):
            if bundle is not None:
                world.globals.update(product=bundle.product, user=bundle.user,
                                     **bundle.settings)
            try:
                urls = world.urls_for_names(route, bundle=bundle)
            except AssertionError as exc:
                problems.append(f"{route.rule}: payload {n} has no such record ({exc})")
                continue
            for url in urls:
                page = client.get(url)
                body = text_of(page)
                targets = []
                if role == "admin" and n < 1:      # the partials share the page's markup
                    targets = ["security-probe"]
                    if n == 0:
                        targets += sorted(set(re.findall(r'hx-target="#([\w\-]+)"', body)))
                tries = [(url, page)] + [(f"{url} (htmx #{t})", client.get(url, headers=htmx(t)))
                                         for t in targets]
                for where, response in tries:
                    checked += 1
                    if response.status_code >= 500:
                        problems.append(f"{where} as {role}: {response.status_code}")
                    for problem in inspect_response(response):
                        problems.append(f"{where} as {role}: {problem}")
    world.globals.update(stored.saved_globals)
    world.figures.xss["pages_checked"] += checked
    world.figures.cover("xss", f"GET {route.rule}")
    world.figures.xss["findings"] += problems[:20]
    assert not problems, "\n".join(problems[:40])


REFLECTED = ("q", "name", "phone", "email", "region", "industry", "tag", "owner", "value_class",
             "stale", "sort", "page", "days", "next", "exclude", "kind")


@pytest.mark.parametrize("route", [r for r in GET_ROUTES if not r.arguments or r.arguments ==
                                   ("name",)], ids=lambda r: f"GET {r.rule}")
def test_payloads_in_the_query_string_are_escaped(world, stored, route):
    """Reflected: each payload in every search box and filter (and ?next=) at once.  A page
    that echoes none of them (a probe value never comes back) is tried with one payload."""
    client = world.client("admin")
    problems = []
    requests = 0
    # three payloads at a time (a query string has room): every payload in every parameter
    groups = [" ".join(p for _t, p in PAYLOADS[i:i + 3]) for i in range(0, len(PAYLOADS), 3)]
    for url in world.urls_for_names(route):
        probe = client.get(with_query(url, **dict.fromkeys(REFLECTED, "reflectprobe")))
        echoes = "reflectprobe" in text_of(probe)
        for n, payload in enumerate(groups if echoes else groups[:1]):
            for headers in ({}, htmx("results")) if n < 1 else ({},):
                target = with_query(url, **dict.fromkeys(REFLECTED, payload))
                response = client.get(target, headers=headers)
                requests += 1
                if response.status_code >= 500:
                    problems.append(f"{target}: {response.status_code}")
                problems += [f"{url}?<{payload!r:.30}> ({'htmx' if headers else 'page'}): {p}"
                             for p in inspect_response(response)]
    world.figures.requests["xss reflected"] += requests
    assert not problems, "\n".join(problems[:40])


def test_a_payload_in_the_path_is_escaped_on_the_error_page(world):
    client = world.client("admin")
    for _title, payload in PAYLOADS:
        response = client.get("/customers/" + quote(payload, safe=""))
        assert response.status_code == 404
        assert not inspect(text_of(response)), payload


def test_the_scanner_sees_an_unescaped_payload():
    """The inspector itself: each payload, pasted raw into a page, is caught."""
    missed = [title for title, payload in PAYLOADS
              if not inspect(f"<html><body><p>{payload}</p><input value=\"{payload}\">"
                             f"<a title='{payload}'>x</a></body></html>")
              and "{{" not in payload and "%3C" not in payload and "javascript:" not in payload
              and "\uff1c" not in payload]
    assert not missed, missed
    from markupsafe import escape
    for _title, payload in PAYLOADS:      # and escaped, as Jinja does, it is not
        escaped = escape(payload)
        assert not inspect(f"<p>{escaped}</p><input value=\"{escaped}\"><a title='{escaped}'>"
                           f"<a href=\"/customers?q={escaped}\">x</a>"), payload
    assert inspect("<p>XSS0749XSS07</p>") and inspect("<p>XSS07{{7*7}}{{config}}49XSS07</p>")
    assert not inspect("<p>XSS07{{7*7}}{{config}}${7*7}XSS07</p>")
    assert inspect('<a href=" javascript:alert(1)">x</a>')
