"""Fixtures of the generated security tests: one app and one world of data for the folder
(built once: every plugin, three customers with every kind of record, learned from the app),
each module adding data of its own; and the figures every module adds to, written at the end
of the session to ``test-artifacts/security-figures.json`` (one entry per database: sqlite,
postgresql) and summed up in pytest's terminal summary.

``CRM_SECURITY_PROFILE=1`` prints the CPU time the app spent per module and endpoint.
"""
from __future__ import annotations

import collections
import datetime as dt
import functools
import json
import os
import pathlib
import time
import types

import pytest

from tests.security import _support

ARTIFACTS = pathlib.Path(__file__).resolve().parents[2] / "test-artifacts"
FIGURES_FILE = ARTIFACTS / "security-figures.json"


class Figures:
    """What the generated tests checked, for the note of issue 3."""

    def __init__(self):
        self.covered: dict[str, set] = collections.defaultdict(set)   # check -> {"GET /rule"}
        self.pairs: set = set()            # (role, "METHOD /rule") checked for scope
        self.requests: collections.Counter = collections.Counter()
        self.xss: dict = {"payloads": 0, "fields": {}, "stored": 0, "rejected": 0,
                          "rejected_by_field": collections.Counter(), "pages_checked": 0,
                          "findings": []}
        self.sql: dict = {"values": 0, "params": {}, "requests": 0, "findings": []}
        self.outcomes: collections.Counter = collections.Counter()
        self.failures: list[dict] = []
        self.url_map: set = set()
        self.cpu_seconds: dict = {}

    def cover(self, check: str, label: str) -> None:
        self.covered[check].add(label)

    def as_dict(self) -> dict:
        every = set().union(*self.covered.values()) if self.covered else set()
        uncovered = sorted(self.url_map - every - {f"GET {r.rule}" for r in _support.routes()
                                                   if r.endpoint in _support.ALLOW_LIST})
        return {
            "written_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "database": "postgresql" if _support.IS_POSTGRES else "sqlite",
            "endpoints_in_url_map": len(self.url_map),
            "endpoints_covered": len(every & self.url_map) if self.url_map else len(every),
            "endpoints_allow_listed": dict(sorted(_support.ALLOW_LIST.items())),
            "endpoints_not_covered": uncovered,
            "by_check": {check: {"endpoints": len(labels), "list": sorted(labels)}
                         for check, labels in sorted(self.covered.items())},
            "role_x_endpoint_pairs_checked": len(self.pairs),
            "requests": dict(sorted(self.requests.items())),
            "xss": {**self.xss, "rejected_by_field": dict(sorted(
                self.xss["rejected_by_field"].items()))},
            "sql": self.sql,
            "tests": dict(sorted(self.outcomes.items())),
            "cpu_seconds_by_module": {k: round(v, 1) for k, v in self.cpu_seconds.items()},
            "failures": self.failures,
        }


FIGURES = Figures()


@pytest.fixture(scope="session", autouse=True)
def figures():
    FIGURES.url_map = {r.label(m) for r in _support.routes() for m in r.methods}
    yield FIGURES
    data = FIGURES.as_dict()
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        existing = json.loads(FIGURES_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        existing = {}
    existing[data["database"]] = data
    FIGURES_FILE.write_text(json.dumps(existing, indent=2, ensure_ascii=False, default=list),
                            encoding="utf-8")


def pytest_runtest_logreport(report):
    """Count the outcomes of tests/security (conftest hooks only see this folder's tests)."""
    if report.when == "call" or (report.when == "setup" and not report.passed):
        if hasattr(report, "wasxfail"):
            outcome = "xfailed" if report.skipped else "xpassed"
            FIGURES.failures.append({"test": report.nodeid, "outcome": outcome,
                                     "reason": report.wasxfail})
        else:
            outcome = report.outcome
            if report.failed:
                FIGURES.failures.append({"test": report.nodeid, "outcome": "failed",
                                         "reason": str(report.longrepr).splitlines()[-1][:300]
                                         if report.longrepr else ""})
        FIGURES.outcomes[outcome] += 1


def pytest_terminal_summary(terminalreporter):
    if not FIGURES.outcomes:
        return
    data = FIGURES.as_dict()
    terminalreporter.write_line(
        f"security figures ({data['database']}): {data['endpoints_covered']}/"
        f"{data['endpoints_in_url_map']} endpoints covered, "
        f"{data['role_x_endpoint_pairs_checked']} role x endpoint pairs, "
        f"{data['xss']['payloads']} XSS payloads ({data['xss']['stored']} stored, "
        f"{data['xss']['rejected']} rejected), {data['sql']['values']} SQL values in "
        f"{data['sql']['requests']} requests; tests {data['tests']} -> {FIGURES_FILE}")


@pytest.fixture(scope="session", autouse=True)
def _compress_assets_once():
    """Every app compresses the same static files with brotli: keep the bytes (as tests/core)."""
    import brotli

    from crm.web import assets
    cached = functools.lru_cache(maxsize=64)(brotli.compress)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(assets, "brotli", types.SimpleNamespace(compress=cached))
        yield


@pytest.fixture(scope="module", autouse=True)
def _cpu_time(request, figures):
    import time
    start = time.process_time()
    yield
    name = request.module.__name__.rsplit(".", 1)[-1]
    figures.cpu_seconds[name] = time.process_time() - start


@pytest.fixture(scope="package")
def _package_world(tmp_path_factory, figures):
    """One app and one world of data for the whole folder (tests/conftest.py's setup, with
    every plugin): building it costs seconds, so the modules share it.  Each module adds its
    own data (markers of its own) and never relies on the absence of another's."""
    make_app = _support.conftest_app_factory()
    generator = make_app(tmp_path_factory.mktemp("security"), _support.PLUGINS,
                         dict(_support.BASE_CONFIG))
    app = next(generator)
    if os.environ.get("CRM_SECURITY_PROFILE"):
        _profile_requests(app)
    try:
        world = _support.World(app, figures)
        app.extensions["security.world"] = world
        world.build()
        world.discover_names()
        yield world
    finally:
        next(generator, None)


@pytest.fixture(scope="module")
def world(request, _package_world):
    """The shared world, with the module's ``APP_CONFIG`` applied while it runs (the CSRF
    module turns CSRF protection on)."""
    app = _package_world.app
    config = getattr(request.module, "APP_CONFIG", {})
    saved = {key: app.config.get(key) for key in config}
    app.config.update(config)
    _package_world.module = request.module.__name__.rsplit(".", 1)[-1]
    try:
        yield _package_world
    finally:
        app.config.update(saved)


PROFILE: collections.Counter = collections.Counter()
PROFILE_N: collections.Counter = collections.Counter()


def _profile_requests(app):
    """CRM_SECURITY_PROFILE=1: CPU seconds per module and endpoint, printed at the end."""
    from flask import current_app, g, request

    @app.before_request
    def _start():
        g._security_cpu = time.process_time()

    @app.teardown_request
    def _stop(_exc):
        start = g.get("_security_cpu")
        if start is not None:
            module = getattr(current_app.extensions.get("security.world"), "module", "")
            key = (module, request.endpoint, request.method)
            PROFILE[key] += time.process_time() - start
            PROFILE_N[key] += 1


def pytest_sessionfinish(session):
    if PROFILE:
        modules: dict = collections.defaultdict(lambda: [0.0, 0])
        for (module, _endpoint, _method), seconds in PROFILE.items():
            modules[module][0] += seconds
            modules[module][1] += PROFILE_N[(module, _endpoint, _method)]
        for module, (seconds, count) in sorted(modules.items()):
            print(f"requests of {module}: {count} taking {seconds:.1f} s of CPU")
        for key, seconds in PROFILE.most_common(40):
            print(f"{seconds:7.2f}s {PROFILE_N[key]:5d} {key}")
