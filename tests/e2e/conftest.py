"""Browser tests: Playwright for Python (sync API) driving Debian's Chromium.

The app runs exactly as in production: ``crm init`` and ``crm demo`` in a temporary instance
folder, then ``crm serve --no-worker`` (gunicorn) on a free port of 127.0.0.1.  Every flow runs
twice, with JavaScript enabled (htmx) and disabled (plain links and forms): the fixture ``js``.

Artifacts go to ``test-artifacts/`` (gitignored): screenshots, the server log and
``page-weight.json``.
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
DEMO_PASSWORD = "demo1234"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 15_000
_LOADED_AT = time.time()   # page-weight.json older than this run is not reported


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


# -- the server -------------------------------------------------------------------------------

def _crm_command() -> list[str]:
    """The ``crm`` console script of this interpreter's environment (what users run)."""
    script = Path(sys.executable).with_name("crm")
    return [str(script)] if script.exists() else [sys.executable, "-m", "crm.cli"]


def _clean_env(instance: Path) -> dict:
    """This process's environment without CRM_* settings (the test database URL included), so the
    server uses SQLite in its own instance folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    env["CRM_INSTANCE_PATH"] = str(instance)
    env["PYTHONUNBUFFERED"] = "1"
    # the demo accounts sign in with demo1234 as printed (outside demo mode they must first
    # choose a new password: tests/accounts_security covers that)
    env["CRM_DEMO_MODE"] = "1"
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclasses.dataclass
class Instance:
    path: Path
    env: dict

    @property
    def database(self) -> Path:
        return self.path / "crm.db"

    def crm(self, *args: str, timeout: int = 300) -> str:
        result = subprocess.run(_crm_command() + list(args), env=self.env, cwd=self.path,
                                capture_output=True, text=True, timeout=timeout)
        assert result.returncode == 0, \
            f"crm {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def query(self, sql: str, params=()) -> list[tuple]:
        with sqlite3.connect(self.database) as conn:
            return conn.execute(sql, params).fetchall()


@pytest.fixture(scope="session")
def instance(tmp_path_factory) -> Instance:
    inst = Instance(tmp_path_factory.mktemp("e2e-instance"), {})
    inst.env = _clean_env(inst.path)
    inst.crm("init")
    inst.crm("demo")
    return inst


@dataclasses.dataclass
class LiveServer:
    url: str
    process: subprocess.Popen
    log: Path


@pytest.fixture(scope="session")
def live_server(instance: Instance):
    port = _free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    log = ARTIFACTS / "e2e-server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            _crm_command() + ["serve", "--host", "127.0.0.1", "--port", str(port), "--no-worker"],
            env=instance.env, cwd=instance.path, stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            pytest.fail(f"crm serve exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
                if json.load(response).get("status") == "ok":
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"crm serve did not answer /healthz in 60 s:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    yield LiveServer(url, process, log)
    process.terminate()              # gunicorn: graceful stop of the master and its workers
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, 9)
        process.wait(5)


# -- the browser ------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def browser():
    missing = None
    if not os.path.exists(CHROMIUM):
        missing = f"{CHROMIUM} is missing (apt-get install chromium; scripts/test.sh does it)"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing = "playwright is not installed (pip install -e .[test])"
        sync_playwright = None
    if missing:
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(params=[True, False], ids=["js", "nojs"])
def js(request) -> bool:
    """Each flow runs with JavaScript on (htmx) and off (links and forms only)."""
    return request.param


@dataclasses.dataclass
class PageProblems:
    """Console errors and uncaught exceptions of a page (a CSP violation is a console error)."""
    messages: list

    def check(self):
        assert not self.messages, "browser console errors:\n" + "\n".join(self.messages)


def watch(page) -> PageProblems:
    problems = PageProblems([])

    def on_console(message):
        # A 4xx answer (the 422 of a form with errors) is expected: Chromium logs it anyway.
        if message.type == "error" and "Failed to load resource" not in message.text:
            problems.messages.append(message.text)
    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.messages.append(f"uncaught: {error}"))
    return problems


@pytest.fixture
def context(browser, live_server, js):
    ctx = browser.new_context(base_url=live_server.url, java_script_enabled=js,
                              viewport=DESKTOP, locale="zh-CN", timezone_id="Asia/Shanghai")
    ctx.set_default_timeout(TIMEOUT_MS)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    pg = context.new_page()
    problems = watch(pg)
    yield pg
    problems.check()


def sign_in(page, username: str = "admin", password: str = DEMO_PASSWORD):
    """Sign in through the login form, as a person would."""
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("form[action^='/login'] button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    page.wait_for_selector("header.top")


def sign_in_by_request(context, base_url: str, username: str = "admin",
                       password: str = DEMO_PASSWORD):
    """Sign in without loading a page (the browser's HTTP cache stays cold): the context's
    request API shares its cookies with the pages."""
    login = context.request.get(base_url + "/login")
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login.text())
    assert match, "no CSRF token on /login"
    response = context.request.post(base_url + "/login", form={
        "csrf_token": match.group(1), "username": username, "password": password},
        max_redirects=0)
    assert response.status == 303, response.text()[:500]


# -- demo data the flows use ------------------------------------------------------------------

_HAN_NAME = re.compile(r"^[\u3400-\u9fff]{2,4}$")


@dataclasses.dataclass
class DemoData:
    customer_id: int                  # a customer whose page the flows open
    customer_name: str
    by_han: tuple[str, str]           # (two Chinese characters, the customer they find)
    by_initials: tuple[str, str]      # (pinyin initials, the customer they find)
    by_phone: tuple[str, str]         # (last 4 digits of the phone, the customer they find)
    broad_term: str                   # one character found in many names: a full result page


def _digits(phone: str) -> str:
    digits = re.sub(r"\D", "", phone or "")
    return digits[2:] if (phone or "").startswith("+86") else digits


def _pick_demo_data(instance: Instance) -> DemoData:
    """Search terms from the real demo database, each chosen so few customers match it (the
    expected customer is then on the first page whatever the ranking)."""
    from pypinyin import Style, lazy_pinyin

    customers = instance.query("SELECT id, name, number, phone, kind FROM customer "
                               "WHERE deleted_at IS NULL ORDER BY id")
    contacts: dict[int, list[tuple[str, str, str]]] = {}
    for customer_id, name, mobile, phone in instance.query(
            "SELECT customer_id, name, mobile, phone FROM contact"):
        contacts.setdefault(customer_id, []).append((name, mobile, phone))
    assert len(customers) >= 50, "the demo database is too small"

    def names_of(row):
        return [row[1]] + [c[0] for c in contacts.get(row[0], [])]

    people = [row for row in customers if row[4] == "person" and _HAN_NAME.match(row[1])]
    assert people, "no person with a Chinese name in the demo data"

    def han_count(term):
        return sum(any(term in n for n in names_of(row)) for row in customers)
    han_row = min(people, key=lambda row: (han_count(row[1][:2]), row[0]))

    def initials(name):
        return "".join(lazy_pinyin(name, style=Style.FIRST_LETTER, errors="ignore")).lower()

    all_initials = [[initials(n) for n in names_of(row)] for row in customers]

    def initials_count(term):
        return sum(any(term in i for i in names) for names in all_initials)
    initials_row = min((row for row in people if len(initials(row[1])) >= 2),
                       key=lambda row: (initials_count(initials(row[1])), row[0]))

    def phone_tokens(row):
        tokens = []
        for phone in [row[3]] + [p for c in contacts.get(row[0], []) for p in c[1:]]:
            digits = _digits(phone)
            if digits:
                tokens += [digits, digits[-8:], digits[-4:]]
        number_digits = re.sub(r"\D", "", row[2] or "")
        tokens += [number_digits, number_digits[-4:]]
        return tokens

    all_tokens = [phone_tokens(row) for row in customers]

    def phone_count(term):
        return sum(any(t.startswith(term) for t in tokens) for tokens in all_tokens)
    with_phone = [row for row in customers if len(_digits(row[3])) == 11]
    phone_row = min(with_phone, key=lambda row: (phone_count(_digits(row[3])[-4:]), row[0]))

    # The character in the most names (outside legal suffixes): a search with a full page.
    counts: dict[str, int] = {}
    for row in customers:
        for ch in set(row[1]) - set("有限责任股份公司集团"):
            if "\u3400" <= ch <= "\u9fff":
                counts[ch] = counts.get(ch, 0) + 1
    broad = max(counts, key=lambda ch: (counts[ch], ch))

    page_row = han_row
    return DemoData(page_row[0], page_row[1], (han_row[1][:2], han_row[1]),
                    (initials(initials_row[1]), initials_row[1]),
                    (_digits(phone_row[3])[-4:], phone_row[1]), broad)


@pytest.fixture(scope="session")
def demo(instance) -> DemoData:
    return _pick_demo_data(instance)


@pytest.fixture(scope="session")
def panel_plugins(instance) -> list[str]:
    """Enabled plugins that contribute customer panels (``crm plugins list``)."""
    names = []
    for line in instance.crm("plugins", "list").splitlines():
        parts = line.split("\t")
        if len(parts) >= 4 and parts[2] == "enabled" and "crm_customer_panels" in parts[3]:
            names.append(parts[0])
    return names


# -- reporting --------------------------------------------------------------------------------

def pytest_terminal_summary(terminalreporter):
    """The measured page weights in the run's summary (also in test-artifacts/page-weight.json)."""
    path = ARTIFACTS / "page-weight.json"
    if not path.exists() or path.stat().st_mtime < _LOADED_AT:
        return
    report = json.loads(path.read_text())
    terminalreporter.section("page weight (bytes on the wire, headers included)")
    for line in report.get("lines", []):
        terminalreporter.write_line(line)
