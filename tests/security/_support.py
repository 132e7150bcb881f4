"""What the generated security tests share: the URL map, the argument factories, the world of
records they run against, signed-in clients per role, and database snapshots.

Everything here is derived from ``app.url_map``: a new route is tested (or a test fails and
says what to add) without anybody adding it to a list by hand.  The only hand-written tables
are ``ARGS`` (how to fill each URL argument *name*: a new name fails loudly),
``NAMED`` (what a ``<name>`` argument means per endpoint) and ``ALLOW_LIST`` (the few GET
endpoints that need no check, each with its reason).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import os
import re
import tempfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urlsplit

from crm.db import database
from tests.conftest import PASSWORD, csrf_token
from tests.plugins.example_plugin import hooks as example_hooks


def _plugins() -> list:
    """The example plugin and every first-party plugin (``plugins/<name>/hooks.py``, what the
    ``crm.plugins`` entry points load in production): their endpoints are tested too."""
    import importlib
    import pathlib
    root = pathlib.Path(__file__).resolve().parents[2] / "plugins"
    found = [importlib.import_module(f"plugins.{hooks.parent.name}.hooks")
             for hooks in sorted(root.glob("*/hooks.py"))]
    return [example_hooks] + found


PLUGINS = _plugins()
STATE_CHANGING = ("POST", "PUT", "PATCH", "DELETE")
IS_POSTGRES = os.environ.get("CRM_TEST_DATABASE_URL", "").startswith(("postgres://",
                                                                       "postgresql://"))
BASE_CONFIG = {
    "PAGE_SIZE": 500,             # every row on one page: a payload is never hidden on page 2
    "RATELIMIT_ENABLED": False,   # flask-limiter's switch (sign-in throttling is tested elsewhere)
}

# -- what each URL argument is ------------------------------------------------------------------


@dataclass(frozen=True)
class Arg:
    key: str          # the key in a Bundle (scoped) or in World.globals / World.names
    scoped: bool      # a record that belongs to a customer: outside the scope it must be a 404


ARGS: dict[str, Arg] = {
    # records scoped by their customer (crm.access.scoped_customers decides)
    "customer_id": Arg("customer", True),
    "contact_id": Arg("contact", True),
    "activity_id": Arg("activity", True),
    "purchase_id": Arg("purchase", True),
    "share_id": Arg("share", True),
    "merge_id": Arg("merge", True),       # a merge of two customers, seen through the winner
    # first-party plugins' records on a customer (learned from the app: World.learn_records)
    "deal_id": Arg("deal_id", True),      # sales: a deal of a customer
    "ticket_id": Arg("ticket_id", True),  # service: a ticket of a customer
    "need_id": Arg("need_id", True),      # needs: a need of a customer
    "import_id": Arg("import_id", True),  # an import: its uploader's (and their manager's)
    "task_id": Arg("task_id", True),      # a task on the customer, owned by its owner
    "notification_id": Arg("notification_id", True),   # one of the owner's notifications
    # records that are not scoped by customer (permission checks only)
    "product_id": Arg("product", False),
    "user_id": Arg("user", False),
    "department_id": Arg("department", False),
    "gift_id": Arg("gift_id", False),     # loyalty: a gift of the catalogue (admin settings)
    "tier_id": Arg("tier_id", False),     # loyalty: a membership tier (admin settings)
    "stage_id": Arg("stage_id", False),   # sales: a pipeline stage (admin settings)
    "field_id": Arg("field_id", False),   # custom fields: a field definition (admin settings)
    "group_id": Arg("group_id", False),   # community: a group (customers are its members)
    "event_id": Arg("event_id", False),   # community: an event of that group
    "topic_id": Arg("topic_id", False),   # community: a topic of that group
    "reply_id": Arg("reply_id", False),   # community: a reply to that topic
    "segment": Arg("segment", False),     # insights: a segment's name (/insights/segments)
    # names: what they mean depends on the endpoint (NAMED)
    "name": Arg("name", False),
    "filename": Arg("filename", False),
}

# endpoint -> the kind of thing its <name> argument names (World.names[kind] lists them all)
NAMED = {
    "customers.panel": "panel",      # a plugin panel of the customer page
    "dashboard.card": "card",        # a dashboard card (core or plugin)
}

# GET endpoints that need no scope / listing check, with the reason.  State-changing methods are
# never allow-listed: every one of them is in the CSRF test.
ALLOW_LIST = {
    "static": "fingerprinted CSS/JS from the package: no record, no user data, no state change",
    "healthz": "JSON liveness probe for the load balancer: 'ok' or the database error, no record",
    "accounts.login": "the anonymous sign-in form: shows no record (its POST is in the CSRF test)",
}


class MissingFactory(AssertionError):
    pass


@dataclass(frozen=True)
class Route:
    rule: str
    endpoint: str
    methods: tuple[str, ...]
    arguments: tuple[str, ...]

    @property
    def scoped_args(self) -> tuple[str, ...]:
        return tuple(a for a in self.arguments if a in ARGS and ARGS[a].scoped)

    @property
    def unknown_args(self) -> tuple[str, ...]:
        return tuple(a for a in self.arguments if a not in ARGS)

    def label(self, method: str) -> str:
        return f"{method} {self.rule}"


@functools.lru_cache(maxsize=None)
def routes() -> tuple[Route, ...]:
    """The URL map of an app built like the tests' (core, the example plugin and every
    first-party plugin), at collection time, so that pytest can parametrize one test per
    endpoint.  (The app never connects to its database.)"""
    from crm import create_app
    with tempfile.TemporaryDirectory(prefix="crm-security-urlmap-") as folder:
        app = create_app({"TESTING": True, "DATABASE_URL": "sqlite:///" + folder + "/urlmap.db",
                          "SECRET_KEY": "test", "PLUGINS": PLUGINS, "JOBS_IMMEDIATE": True,
                          "COMPRESS_REGISTER": False}, instance_path=folder)
    out = []
    for rule in app.url_map.iter_rules():
        methods = tuple(sorted(m for m in rule.methods if m not in ("HEAD", "OPTIONS")))
        out.append(Route(rule.rule, rule.endpoint, methods, tuple(sorted(rule.arguments))))
    return tuple(sorted(out, key=lambda r: (r.rule, r.endpoint)))


def state_changing_cases() -> list[tuple[Route, str]]:
    return [(r, m) for r in routes() for m in r.methods if m in STATE_CHANGING]


def record_cases() -> list[tuple[Route, str]]:
    """Every method of every rule whose arguments hold a record scoped by customer (and every
    rule with an argument nobody has classified yet: its test fails and says so)."""
    return [(r, m) for r in routes() for m in r.methods
            if r.scoped_args or r.unknown_args]


def collection_cases() -> list[Route]:
    """GET rules without a scoped record id: lists, dashboards, forms, admin pages."""
    return [r for r in routes() if "GET" in r.methods and not r.scoped_args
            and not r.unknown_args and r.endpoint not in ALLOW_LIST]


def case_id(case) -> str:
    route, method = case
    return route.label(method)


# -- the world: records in and out of each role's scope ----------------------------------------


@dataclass
class Bundle:
    """A customer with one of each record that hangs on it."""
    label: str
    owner: str
    marker: str
    customer: int = 0
    contact: int = 0
    activity: int = 0
    purchase: int = 0
    share: int | None = None
    merge: int | None = None
    number: str = ""
    error: str = ""
    extra: dict = field(default_factory=dict)      # learned ids: {"deal_id": 3, ...}

    def get(self, key: str):
        value = self.extra.get(key) if key in self.extra else getattr(self, key, None)
        if value is None:
            raise MissingFactory(f"bundle {self.label!r} has no {key!r} (could not create one: "
                                 f"{getattr(self, 'error', '')})")
        return value


# who sees which bundle (crm/access.py and issue 3): own is owned by "sales" (Team A, under the
# manager's Sales department), sibling by "sales2" (Team A too), outside by "outsider" (Branch,
# a department outside the manager's subtree).  admin, service and clerk see every customer
# (a clerk through the counter's look-up only).  Shares go to the Service department, which
# changes nobody's scope.
OUT_OF_SCOPE = {
    "sales": ("sibling", "outside"),
    "sales2": ("own", "outside"),
    "manager": ("outside",),
}
IN_SCOPE = {"sales": "own", "sales2": "sibling", "manager": "own"}


def conftest_app_factory():
    """The generator function behind tests/conftest.py's ``app`` fixture, so that a module-scoped
    app is set up exactly as every other test's (users, departments, PostgreSQL schema)."""
    from tests import conftest
    fixture = conftest.app
    for attr in ("_get_wrapped_function",):
        if hasattr(fixture, attr):
            return getattr(fixture, attr)()
    wrapped = getattr(fixture, "__wrapped__", None) or getattr(fixture, "__pytest_wrapped__", None)
    return getattr(wrapped, "obj", wrapped)


class World:
    """One app per test module, with its data and one signed-in client per user."""

    def __init__(self, app, figures):
        from tests.core.conftest import Seed
        self.app = app
        self.figures = figures
        self.seed = Seed(app)
        self.bundles: dict[str, Bundle] = {}
        self.globals: dict[str, object] = {}
        self.names: dict[str, list[str]] = {}
        self._clients: dict[str, object] = {}
        self._addresses = 0
        self.module = "build"

    # -- database ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def ctx(self):
        with self.seed.ctx():
            yield

    def user_id(self, username: str) -> int:
        cache = self.__dict__.setdefault("_user_ids", {})
        if username not in cache:
            cache[username] = self.seed.user(username).id
        return cache[username]

    def tables(self) -> list[str]:
        """The tables of the database (core and plugins; cached: migrations ran at start)."""
        if getattr(self, "_tables", None) is None:
            self._tables = self._list_tables()
        return self._tables

    def _list_tables(self) -> list[str]:
        if IS_POSTGRES:
            schema = database.execute_sql("SELECT current_schema()").fetchone()[0]
            names = database.get_tables(schema=schema)
        else:
            names = database.get_tables()
        return sorted(n for n in names if not n.startswith("migrations"))

    def snapshot(self) -> dict[str, tuple[int, str]]:
        """Row count and a digest of the content of every table (core and plugins)."""
        out = {}
        with self.ctx():
            for table in self.tables():
                rows = database.execute_sql(f'SELECT * FROM "{table}"').fetchall()
                digest = hashlib.sha1(repr(sorted(repr(r) for r in rows)).encode()).hexdigest()
                out[table] = (len(rows), digest)
        return out

    @staticmethod
    def diff(before: dict, after: dict) -> list[str]:
        changed = []
        for table in sorted(set(before) | set(after)):
            b, a = before.get(table), after.get(table)
            if b != a:
                rows = f"{b[0] if b else '-'} -> {a[0] if a else '-'} rows"
                changed.append(f"{table} ({rows}, content changed)")
        return changed

    # -- data ----------------------------------------------------------------------------------

    def build(self) -> "World":
        """Departments and users beyond the fixture's, a product, and the three bundles."""
        from crm.accounts import services as accounts
        from crm.accounts.models import Department
        with self.ctx():
            branch = Department.create(name="Branch")
            team_b = Department.get(Department.name == "Team B")
            accounts.create_user("outsider", PASSWORD, "sales", "Out Sider", branch)
            accounts.create_user("probe", PASSWORD, "sales", "Probe User", team_b)
            self.globals["department"] = branch.id
            self.globals["service_department"] = Department.get(Department.name == "Service").id
        self.globals["user"] = self.user_id("probe")
        self.globals["product"] = self.seed.product("SEC-1", "Security tea", 1200).id
        for i, (label, owner, marker) in enumerate((("own", "sales", "OWNMARK"),
                                                    ("sibling", "sales2", "SIBMARK"),
                                                    ("outside", "outsider", "OUTMARK"))):
            self.bundles[label] = self.make_bundle(label, owner, marker, i)
        self.globals["filename"] = "app.css"
        self.learn_globals()
        self.community_globals()
        return self

    def make_bundle(self, label: str, owner: str, marker: str, index: int | None = None,
                    needs: "set[str] | None" = None) -> Bundle:
        """A customer owned by ``owner`` with one of each record that hangs on a customer
        (or only those ``needs`` names: URL arguments, for a quick throwaway bundle)."""
        from crm.customers.models import Contact
        from tests.plugins.example_plugin import services as example_services
        from tests.plugins.example_plugin.models import ExampleNote
        wants = (lambda arg: True) if needs is None else (lambda arg: arg in needs)
        index = len(self.bundles) + 10 if index is None else index
        bundle = Bundle(label, owner, marker)
        customer = self.seed.customer(f"{marker} {label.title()} Trading Ltd.", owner=owner,
                                      phone=f"1390000{index:04d}",
                                      region=f"{marker} Region", industry=f"{marker} Industry",
                                      tags=[f"tag-{label}"],
                                      contacts=[{"name": f"{marker} Contact"}])
        bundle.customer, bundle.number = customer.id, customer.number
        bundle.contact = self.seed.run(
            lambda: Contact.select().where(Contact.customer == customer.id).get().id)
        bundle.activity = self.seed.activity(customer.id, owner, summary=f"{marker} call",
                                             next_followup_on=dt.date.today()).id
        if wants("purchase_id") or needs is None:
            bundle.purchase = self.seed.purchase(customer.id, [(self.globals["product"], 1)],
                                                 username=owner).id
        with self.ctx():
            example_services.save_note(customer, f"{marker} note")
            ExampleNote.update(pinned=True).where(ExampleNote.customer == customer.id).execute()
        if wants("task_id"):
            bundle.extra["task_id"] = self._task(customer.id, owner, marker)
        if wants("notification_id"):
            bundle.extra["notification_id"] = self._notification(customer.id, owner, marker)
        self.share_error = ""
        if wants("share_id"):
            bundle.share = self._share(customer.id)
        if wants("merge_id"):
            bundle.merge = self._merge(customer.id, owner, marker, label)
        bundle.error = self.share_error
        self.learn_records(bundle, needs)
        return bundle

    # -- records of the plugins, learned from the app itself --------------------------------

    def learn(self, url: str, into: dict, scoped: bool) -> None:
        """Record the ids a URL of this app carries (``/sales/deals/7`` -> deal_id=7)."""
        path = url.split("#")[0].split("?")[0]
        if path.startswith("http"):
            path = "/" + path.split("/", 3)[-1]
        adapter = self.app.url_map.bind("localhost")
        for method in ("GET", "POST"):
            try:
                _endpoint, values = adapter.match(path, method=method)
            except Exception:  # noqa: BLE001 - not a route of the app, or not that method
                continue
            for arg, value in values.items():
                spec = ARGS.get(arg)
                if spec is not None and spec.scoped == scoped and spec.key == arg:
                    into.setdefault(arg, value)
            return

    def _learn_page(self, html_text: str, into: dict, scoped: bool) -> None:
        for url in re.findall(r'(?:href|action|hx-get|hx-post)="(/[^"]*)"', html_text):
            self.learn(url.replace("&amp;", "&"), into, scoped)

    def _missing(self, bundle: "Bundle | None") -> set[str]:
        args = {a for r in routes() for a in r.arguments if a in ARGS and a not in
                ("name", "filename") and ARGS[a].key == a
                and ARGS[a].scoped == (bundle is not None)}
        have = bundle.extra if bundle is not None else self.globals
        return {a for a in args if a not in have}

    @staticmethod
    def _segment(arg: str) -> str:
        """The collection an id belongs to: "deals" for /sales/deals/<int:deal_id>."""
        rule = next(r.rule for r in routes() if arg in r.arguments)
        parent = rule.split("<", 1)[0].rstrip("/")
        return parent.rsplit("/", 1)[-1]

    def _create_through(self, client, url: str, into: dict, scoped: bool) -> bool:
        """Submit the page's own POST form (posting back to it, or uploading a file) with
        plausible values; learn the ids of what it created from the redirect."""
        page = client.get(url)
        if page.status_code != 200:
            return False
        text = text_of(page)
        self._learn_page(text, into, scoped)
        for form in forms(text):
            action = (form.action or url).split("?")[0]
            uploads = any(f["type"] == "file" for f in form.fields)
            if form.method != "post" or (action != url.split("?")[0] and not uploads):
                continue
            response = submit_plausibly(client, form, action)
            if response is not None and response.status_code in (302, 303):
                location = response.headers["Location"]
                known = len(into)
                self.learn(location, into, scoped)
                if len(into) == known:        # back to a list: the new row is linked there
                    self._learn_page(text_of(client.get(location)), into, scoped)
                return True
        return False

    def learn_records(self, bundle: "Bundle", needs: "set[str] | None" = None) -> None:
        """The plugins' records of the bundle's customer (a deal, a ticket, a need...) and an
        import by its owner, created through the app's own forms (the "new" page under the
        customer whose path names the collection, or an upload page), by the owner or else an
        administrator; their ids are read from the redirect that follows."""
        missing = self._missing(bundle)
        if needs is not None:
            missing &= set(needs)
        if not missing:
            return
        owner, admin = self.fresh_client(bundle.owner), self.client("admin")
        for arg in sorted(missing):
            segment = self._segment(arg)
            pages = [r for r in routes() if "GET" in r.methods and segment in r.rule
                     and r.arguments in ((), ("customer_id",))
                     and r.endpoint not in ALLOW_LIST]
            pages.sort(key=lambda r: (not r.arguments, "new" not in r.rule, r.rule))
            for route in pages:
                if arg in bundle.extra:
                    break
                url = _build(self.app, route, {"customer_id": bundle.customer}) \
                    if route.arguments else route.rule
                if not self._create_through(owner, url, bundle.extra, True) and \
                        arg not in bundle.extra and route.arguments:
                    self._create_through(admin, url, bundle.extra, True)

    def learn_globals(self) -> None:
        """Settings records (gifts, tiers, stages...): read from the administrator's page of
        their collection, else created through its "new" form."""
        admin = self.client("admin")
        for arg in sorted(self._missing(None)):
            segment = self._segment(arg)
            pages = [r for r in routes() if "GET" in r.methods and not r.arguments
                     and segment in r.rule and r.endpoint not in ALLOW_LIST]
            pages.sort(key=lambda r: ("new" in r.rule, r.rule))
            for route in pages:
                if arg in self.globals:
                    break
                response = admin.get(route.rule)
                if response.status_code == 200:
                    self._learn_page(text_of(response), self.globals, False)
                if arg not in self.globals and "new" in route.rule:
                    self._create_through(admin, route.rule, self.globals, False)

    def community_globals(self) -> None:
        """A community group with an event, a topic and a reply (their pages are reached only
        from the group's page, so learn_globals cannot find them), through the plugin's
        services, when the plugin is loaded."""
        wanted = {"group_id", "event_id", "topic_id", "reply_id"} & self._missing(None)
        if not wanted:
            return
        from plugins.community import services
        with self.ctx():
            from crm.accounts.models import User
            admin = User.get(User.username == "admin")
            group = services.CommunityGroup.get_or_none(
                services.CommunityGroup.id == self.globals.get("group_id")) \
                or services.create_group(admin, "SECMARK circle", "SECMARK rules")
            event = services.create_event(group, admin, "SECMARK event",
                                          dt.datetime.utcnow() + dt.timedelta(days=7), 0,
                                          "SECMARK hall")
            topic = services.post_topic(group, admin, None, "SECMARK topic", "SECMARK body")
            reply = services.reply(topic, admin, None, "SECMARK reply")
        self.globals.update({"group_id": group.id, "event_id": event.id,
                             "topic_id": topic.id, "reply_id": reply.id})

    def _task(self, customer_id: int, owner: str, marker: str) -> int:
        """A task on the customer for its owner (given by nobody: no notification)."""
        from crm.accounts.models import User
        from crm.tasks.services import create_task
        with self.ctx():
            user = User.get(User.username == owner)
            return create_task(f"{marker} task", user, customer=customer_id,
                               due_on=dt.date.today()).id

    def _notification(self, customer_id: int, owner: str, marker: str) -> int:
        """A notification for the owner that links to the customer."""
        from crm.accounts.models import User
        from crm.notifications import notify
        from crm.notifications.models import Notification
        with self.ctx():
            user = User.get(User.username == owner)
            notify([user], f"{marker} notification", url=f"/customers/{customer_id}")
            return (Notification.select(Notification.id).where(Notification.user == user.id)
                    .order_by(Notification.id.desc()).get().id)

    def _share(self, customer_id: int) -> int | None:
        """A share of the customer with the Service department (service sees every customer
        anyway, so the share changes nobody's scope): something for <share_id> to name."""
        try:
            from crm.customers import sharing
        except ImportError:
            return None
        from crm.accounts.models import User
        from crm.customers.models import Customer
        with self.ctx():
            admin = User.get(User.username == "admin")
            try:
                row = sharing.share(Customer.get_by_id(customer_id), admin,
                                    department_id=self.globals["service_department"])
            except Exception as exc:  # noqa: BLE001 - reported by the tests that need a share
                self.share_error = f"{type(exc).__name__}: {exc}"
                return None
            return row.id if row else None

    def _merge(self, customer_id: int, owner: str, marker: str, label: str) -> int | None:
        """A duplicate of the customer merged into it (the duplicate goes to the trash): the
        record <merge_id> names."""
        try:
            from crm.customers import merge as merging
        except ImportError:
            return None
        from crm.accounts.models import User
        from crm.customers.models import Customer
        duplicate = self.seed.customer(f"{marker} {label.title()} Duplicate Ltd.", owner=owner)
        with self.ctx():
            user = User.get(User.username == owner)
            try:
                record = merging.merge(Customer.get_by_id(customer_id),
                                       Customer.get_by_id(duplicate.id), [], user)
            except Exception as exc:  # noqa: BLE001 - reported by the tests that need a merge
                self.share_error += f" merge: {type(exc).__name__}: {exc}"
                return None
            return record.id

    def record_state(self, bundle: "Bundle") -> list:
        """Every stored row about the bundle's customer (customer, contacts, activities,
        purchases, shares, tags, plugin notes, audit rows): what a request outside the scope
        must leave alone."""
        tables = {"customer": "id", "contact": "customer_id", "activity": "customer_id",
                  "purchase": "customer_id", "customer_share": "customer_id",
                  "customer_tag": "customer_id", "example_note": "customer_id"}
        out = []
        with self.ctx():
            present = set(self.tables())
            for table, column in tables.items():
                if table in present:
                    out.append((table, sorted(map(repr, database.execute_sql(
                        f'SELECT * FROM "{table}" WHERE "{column}" = %s' % int(bundle.customer)
                    ).fetchall()))))
            if "audit_log" in present:
                rows = database.execute_sql(
                    "SELECT * FROM audit_log WHERE entity = 'customer' AND entity_id = %s"
                    % int(bundle.customer)).fetchall()
                out.append(("audit_log", len(rows)))
        return out

    def discover_names(self) -> None:
        """Panel and card names, read from the pages that announce them (as admin)."""
        client = self.client("admin")
        page = text_of(client.get(f"/customers/{self.bundles['own'].customer}"))
        self.names["panel"] = sorted(set(re.findall(r'/panels/([\w\-]+)"', page)))
        page = text_of(client.get("/"))
        self.names["card"] = sorted(set(re.findall(r'/dashboard/cards/([\w\-]+)"', page)))

    # -- URLs ----------------------------------------------------------------------------------

    def value(self, route: Route, arg: str, bundles: dict[str, Bundle]):
        """The value for ``arg``: from the bundle chosen for it (scoped), else the world."""
        spec = ARGS.get(arg)
        if spec is None:
            raise MissingFactory(
                f"{route.rule} ({route.endpoint}): no factory for the URL argument <{arg}>. "
                f"Add it to ARGS in tests/security/_support.py, saying whether it names a record "
                f"scoped by customer (then the bundles need one: World.make_bundle) or not.")
        if spec.scoped:
            return bundles[arg].get(spec.key)
        if arg == "name":
            kind = NAMED.get(route.endpoint)
            if kind is None:
                raise MissingFactory(
                    f"{route.rule} ({route.endpoint}): its <name> argument means nothing known. "
                    f"Add the endpoint to NAMED in tests/security/_support.py.")
            names = self.names.get(kind) or []
            if not names:
                raise MissingFactory(f"no {kind} names found for {route.endpoint}")
            return names[0]
        if spec.key not in self.globals:
            raise MissingFactory(f"{route.rule}: the world has no {spec.key!r} for <{arg}> "
                                 f"(none found on the administrator's pages, none created)")
        return self.globals[spec.key]

    def url(self, route: Route, bundle: Bundle | None = None, per_arg: dict | None = None,
            **fixed) -> str:
        """The URL of ``route`` with every argument filled: scoped ones from ``bundle`` (or
        ``per_arg[arg]``), the others from the world; ``fixed`` wins."""
        values = {}
        chosen = dict.fromkeys(route.arguments, bundle or self.bundles["own"])
        chosen.update(per_arg or {})
        for arg in route.arguments:
            values[arg] = fixed[arg] if arg in fixed else self.value(route, arg, chosen)
        return _build(self.app, route, values)

    def urls_for_names(self, route: Route, **kwargs) -> list[str]:
        """Every URL of ``route`` when it has a <name> argument (each panel, each card)."""
        if "name" not in route.arguments or route.endpoint not in NAMED:
            return [self.url(route, **kwargs)]
        return [self.url(route, name=n, **kwargs) for n in self.names[NAMED[route.endpoint]]]

    # -- clients -------------------------------------------------------------------------------

    def client(self, username: str):
        if username not in self._clients:
            self._clients[username] = self.fresh_client(username)
        return self._clients[username]

    def forget(self, username: str) -> None:
        self._clients.pop(username, None)

    def fresh_client(self, username: str | None):
        """A client signed in as ``username`` (None: anonymous), from an address of its own so
        that sign-in throttling per address never counts the suite's sign-ins together."""
        self._addresses += 1
        client = self.app.test_client()
        client.environ_base["REMOTE_ADDR"] = \
            f"10.77.{self._addresses // 250}.{self._addresses % 250 + 1}"
        if username is None:
            return client
        page = client.get("/login")
        data = {"username": username, "password": PASSWORD}
        if self.app.config.get("WTF_CSRF_ENABLED", True):
            data["csrf_token"] = csrf_token(page.data)
        response = client.post("/login", data=data)
        assert response.status_code == 303, (username, response.status_code,
                                             text_of(response)[:500])
        return client

    def csrf(self, client) -> str:
        """A valid CSRF token for ``client``'s session."""
        return csrf_token(client.get("/account").data)



def _build(app, route: Route, values: dict) -> str:
    rule = next(r for r in app.url_map.iter_rules()
                if r.rule == route.rule and r.endpoint == route.endpoint)
    return rule.build(values)[1]


def text_of(response) -> str:
    """The body as text (HTML, JSON, CSV...); a binary download (XLSX) reads as ""."""
    kind = response.mimetype or ""
    if kind.startswith("text/") or kind.endswith(("json", "xml", "javascript")) or not kind:
        return response.get_data().decode(response.mimetype_params.get("charset", "utf-8"),
                                          errors="replace")
    return ""


def with_query(url: str, **params) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query) + [(k, v) for k, v in params.items()]
    return parts.path + ("?" + urlencode(query) if query else "")


def probe_body(world, bundle: "Bundle | None" = None) -> dict:
    """One body that every form of the app would accept (with a token): the rejection must
    come from the missing token, not from the body.  ``ids`` (a bulk action's ticked rows)
    names ``bundle``'s customer."""
    bundle = bundle or world.bundles["own"]
    return {
        # customers, contacts, activities, purchases
        "kind": "company", "name": "Csrf Probe Trading Ltd.", "value_class": "C",
        "owner": str(world.user_id("admin")), "confirm_duplicate": "1", "tags": "csrf",
        "contact-name": "Csrf Probe", "summary": "csrf probe", "note": "csrf probe",
        "lines-0-product": str(world.globals["product"]), "lines-0-quantity": "1",
        # products, users, departments, account
        "sku": "CSRF-1", "price": "1.00", "active": "y", "username": "csrfprobe",
        "password": "csrf-probe-pass-1", "role": "sales", "display_name": "Csrf Probe",
        "department": "0", "parent": "0", "locale": "en", "is_active": "y",
        "which": "prefs", "prefs-locale": "en", "prefs-timezone": "UTC",
        # reveal, share, reassign
        "field": "phone", "target": f"u:{world.user_id('sales2')}",
        "ids": str(bundle.customer),
    }


# -- reading pages ------------------------------------------------------------------------------


@dataclass
class Form:
    action: str
    method: str
    fields: list[dict] = field(default_factory=list)   # {"name", "type", "value", "options"}
    attrs: dict = field(default_factory=dict)          # the <form>'s own attributes (hx-*)


class FormParser(HTMLParser):
    """Every <form> of a page: its action, method and fields (inputs, selects, textareas), with
    the value a browser would submit (selected option, checked box, textarea text)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: dict | None = None
        self._textarea: dict | None = None
        self._option: dict | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = Form(a.get("action") or "", (a.get("method") or "get").lower(),
                              attrs=a)
            self.forms.append(self._form)
            return
        if self._form is None:
            return
        if tag == "input" and a.get("name"):
            kind = (a.get("type") or "text").lower()
            if kind in ("checkbox", "radio") and "checked" not in a:
                entry = {"name": a["name"], "type": kind, "value": None, "on": a.get("value", "y")}
            else:
                entry = {"name": a["name"], "type": kind, "value": a.get("value", ""),
                         "on": a.get("value", "y")}
            entry["maxlength"] = a.get("maxlength")
            self._form.fields.append(entry)
        elif tag == "select" and a.get("name"):
            self._select = {"name": a["name"], "type": "select", "value": None, "options": []}
            self._form.fields.append(self._select)
        elif tag == "option" and self._select is not None:
            self._option = {"value": a.get("value"), "text": "", "selected": "selected" in a}
            self._select["options"].append(self._option)
        elif tag == "textarea" and a.get("name"):
            self._textarea = {"name": a["name"], "type": "textarea", "value": ""}
            self._form.fields.append(self._textarea)
        elif tag == "button" and a.get("name"):
            self._form.fields.append({"name": a["name"], "type": "button",
                                      "value": a.get("value", "")})

    def handle_data(self, data):
        if self._option is not None:
            self._option["text"] += data
        if self._textarea is not None:
            self._textarea["value"] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select" and self._select is not None:
            options = self._select["options"]
            chosen = next((o for o in options if o["selected"]), options[0] if options else None)
            if chosen is not None:
                self._select["value"] = chosen["value"] if chosen["value"] is not None \
                    else chosen["text"]
            self._select = None
        elif tag == "option":
            self._option = None
        elif tag == "textarea" and self._textarea is not None:
            value = self._textarea["value"]
            self._textarea["value"] = value[2:] if value.startswith("\r\n") else \
                value.removeprefix("\n")
            self._textarea = None


FORM_BLOCK = re.compile(r"<form\b.*?</form\s*>", re.S | re.I)


def forms(html_text: str) -> list[Form]:
    """The page's forms (only the <form> blocks go through the parser: it is slow)."""
    parser = FormParser()
    parser.feed("".join(FORM_BLOCK.findall(html_text)))
    return parser.forms


def form_data(form: Form) -> dict:
    """What a browser submits for ``form`` untouched (the submit buttons left out)."""
    data = {}
    for f in form.fields:
        if f["type"] in ("submit", "button", "reset", "image", "file"):
            continue
        if f["value"] is None:
            continue
        data.setdefault(f["name"], f["value"])
    return data


def hx_gets(html_text: str) -> list[str]:
    """Same-site URLs the page loads or may load with hx-get (cards, panels, load more)."""
    return sorted({u for u in re.findall(r'hx-get="([^"]+)"', html_text) if u.startswith("/")})


PLAUSIBLE = {"email": "probe@example.com", "tel": "13900009999", "url": "https://example.com",
             "number": "1", "date": None, "datetime-local": None, "password": "Probe-Pass-2024!"}
CSV_FILE = "name,phone\nProbe Import Trading Ltd.,13900008888\n".encode()


def submit_plausibly(client, form: Form, action: str, text: str = "Security probe"):
    """Post ``form`` filled as a person would (texts, a date today, the first offered option
    of an empty select, a small CSV for a file input); one retry for the fields it refused."""
    import io
    data = form_data(form)
    for f in form.fields:
        kind, name = f["type"], f["name"]
        if kind in ("text", "search", "textarea", "") and not (data.get(name) or "").strip():
            data[name] = text
        elif kind in ("date",) and not data.get(name):
            data[name] = dt.date.today().isoformat()
        elif kind in PLAUSIBLE and PLAUSIBLE[kind] and not data.get(name):
            data[name] = PLAUSIBLE[kind]
        elif kind == "select" and not (data.get(name) or "").strip():
            for option in f.get("options", []):
                value = option["value"] if option["value"] is not None else option["text"]
                if (value or "").strip():
                    data[name] = value
                    break
    files = [f["name"] for f in form.fields if f["type"] == "file"]
    for attempt in range(3):
        body = dict(data)
        for name in files:
            body[name] = (io.BytesIO(CSV_FILE), "probe.csv")
        response = client.post(action, data=body)
        if response.status_code != 422:
            return response
        invalid = set()
        for tag in re.findall(r"<(?:input|select|textarea)\b[^>]*>", text_of(response)):
            if 'aria-invalid="true"' in tag:
                found = re.search(r'\bname="([^"]+)"', tag)
                if found:
                    invalid.add(found.group(1))
        if not invalid:
            return response
        for name in invalid:
            data[name] = ("1", "Probe Trading Ltd.", dt.date.today().isoformat())[attempt]
    return response
