"""Accessibility: axe-core on the main pages, JavaScript on, no serious or critical violation.

axe-core is not committed: it is fetched once from its npm package (``axe-core``, pinned
version) with the ordinary ``npm`` client, checked against a pinned SHA-256 (as
``crm/web/vendor.py`` does for htmx), and kept in ``test-artifacts/cache/`` (gitignored).
The app's Content-Security-Policy forbids inline scripts, so these tests alone use a browser
context with ``bypass_csp=True`` to inject it; every other browser test keeps the CSP.

Every violation (all impacts) goes to ``test-artifacts/a11y/<page>.json``; moderate and minor
ones are printed, serious and critical ones fail the test with the rule, the element and the
fix axe suggests.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, DESKTOP, TIMEOUT_MS, sign_in

AXE_VERSION = "4.14.1"
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"   # package/axe.min.js
AXE_CACHE = ARTIFACTS / "cache" / f"axe-core-{AXE_VERSION}.min.js"
REPORTS = ARTIFACTS / "a11y"
FAILING_IMPACTS = ("serious", "critical")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch_axe() -> str:
    """The pinned axe-core source: from the cache, else from its npm package (SHA-256 checked)."""
    if AXE_CACHE.exists():
        data = AXE_CACHE.read_bytes()
        if _sha256(data) == AXE_SHA256:
            return data.decode("utf-8")
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(f"npm is needed to fetch axe-core {AXE_VERSION} (apt-get install npm)")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([npm, "pack", f"axe-core@{AXE_VERSION}", "--pack-destination", tmp,
                        "--silent"], check=True, stdout=subprocess.DEVNULL, timeout=120)
        tgz = next(f for f in os.listdir(tmp) if f.endswith(".tgz"))
        with tarfile.open(os.path.join(tmp, tgz)) as tar:
            data = tar.extractfile(tar.getmember("package/axe.min.js")).read()
    if _sha256(data) != AXE_SHA256:
        raise RuntimeError(f"axe-core {AXE_VERSION} from npm does not match the pinned SHA-256")
    AXE_CACHE.parent.mkdir(parents=True, exist_ok=True)
    AXE_CACHE.write_bytes(data)
    return data.decode("utf-8")


@pytest.fixture(scope="session")
def axe_source() -> str:
    try:
        return fetch_axe()
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        if os.environ.get("CI"):
            pytest.fail(str(exc))
        pytest.skip(str(exc))


def _new_context(browser, live_server):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=True,
                                  bypass_csp=True, viewport=DESKTOP, locale="zh-CN",
                                  timezone_id="Asia/Shanghai")
    context.set_default_timeout(TIMEOUT_MS)
    return context


@pytest.fixture(scope="module")
def signed_in(browser, live_server):
    """One signed-in context (JavaScript on, CSP bypassed for the injection) for the module."""
    context = _new_context(browser, live_server)
    page = context.new_page()
    sign_in(page, "admin")
    page.close()
    yield context
    context.close()


# page name -> (path, or a callable of the demo data; a selector that shows the page is ready)
PAGES = {
    "customers": ("/customers", "#results tbody tr"),
    "customer": (lambda demo: f"/customers/{demo.customer_id}", "#timeline-items"),
    "customer-new": ("/customers/new", "#customer-form"),
    "followups": ("/followups", "main h1"),
    "task-new": ("/tasks/new", "#task-form"),
    "notifications": ("/notifications", "main h1"),
    "dashboard": ("/", "main h1"),
}


def run_axe(page, source: str, name: str) -> list[dict]:
    """Inject axe-core, run it on the whole document, keep the report; returns the violations."""
    # Lazily loaded parts (dashboard cards, plugin panels) are part of the page.
    expect(page.locator("[hx-trigger='load']")).to_have_count(0)
    page.wait_for_load_state("networkidle")
    page.add_script_tag(content=source)
    violations = page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ['violations']});
        return result.violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl, tags: v.tags,
            nodes: v.nodes.map(n => ({target: n.target, html: n.html, impact: n.impact,
                                      summary: n.failureSummary}))}));
    }""")
    REPORTS.mkdir(parents=True, exist_ok=True)
    (REPORTS / f"{name}.json").write_text(json.dumps(
        {"url": page.url, "axe": AXE_VERSION, "violations": violations}, ensure_ascii=False,
        indent=2))
    return violations


def check(violations: list[dict], name: str) -> None:
    def describe(v):
        nodes = "\n".join(f"      {' '.join(map(str, n['target']))}: {n['html'][:160]}\n"
                          f"        {(n['summary'] or '').splitlines()[-1] if n['summary'] else ''}"
                          for n in v["nodes"][:8])
        return f"  [{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})\n{nodes}"
    minor = [v for v in violations if v["impact"] not in FAILING_IMPACTS]
    if minor:
        print(f"\n{name}: {len(minor)} moderate/minor accessibility issue(s):\n"
              + "\n".join(describe(v) for v in minor))
    failing = [v for v in violations if v["impact"] in FAILING_IMPACTS]
    assert not failing, (f"{name}: serious or critical accessibility violations "
                         f"(report: test-artifacts/a11y/{name}.json):\n"
                         + "\n".join(describe(v) for v in failing))


def test_login_page(browser, live_server, axe_source):
    context = _new_context(browser, live_server)
    try:
        page = context.new_page()
        page.goto("/login")
        assert urlsplit(page.url).path == "/login"
        expect(page.locator("#username")).to_be_visible()
        check(run_axe(page, axe_source, "login"), "login")
    finally:
        context.close()


@pytest.mark.parametrize("name", list(PAGES))
def test_main_page(signed_in, demo, axe_source, name):
    path, ready = PAGES[name]
    page = signed_in.new_page()
    try:
        path = path(demo) if callable(path) else path
        response = page.goto(path)
        assert response.status == 200 and urlsplit(page.url).path == path, \
            (name, response.status, page.url)
        expect(page.locator(ready).first).to_be_visible()
        check(run_axe(page, axe_source, name), name)
    finally:
        page.close()


def test_axe_finds_a_planted_violation(signed_in, axe_source):
    """The check can fail: an image without alternative text is a critical violation."""
    page = signed_in.new_page()
    try:
        page.goto("/customers")
        assert urlsplit(page.url).path == "/customers"
        page.evaluate("""() => { const img = document.createElement('img');
            img.src = '/static/none.png'; document.querySelector('main').appendChild(img); }""")
        violations = run_axe(page, axe_source, "planted")
        assert any(v["id"] == "image-alt" and v["impact"] == "critical" for v in violations)
        with pytest.raises(AssertionError, match="image-alt"):
            check(violations, "planted")
    finally:
        page.close()
