"""The page-weight budget (design, section 4), measured in Chromium through the DevTools protocol.

First visit, cold cache: <= 60 KB on the wire in all (HTML <= 20 KB, JS <= 20 KB, CSS <= 10 KB),
no font request, no request to another origin.  Repeat visit (a reload in the same context): only
the HTML moves, static assets come from the cache (fingerprinted, immutable).  An htmx search
moves <= 5 KB.  Bytes are Network.loadingFinished's encodedDataLength: compressed bodies plus
response headers.  1 KB = 1024 bytes.

The figures are written to test-artifacts/page-weight.json and shown in the run's summary.
"""
from __future__ import annotations

import dataclasses
import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.e2e.conftest import ARTIFACTS, DESKTOP, TIMEOUT_MS, sign_in_by_request, watch

KB = 1024
BUDGET = {"total": 60 * KB, "html": 20 * KB, "js": 20 * KB, "css": 10 * KB}
HTMX_BUDGET = 5 * KB
# The slow-phone profile: 400 kbit/s each way, 400 ms of latency.
SLOW_PHONE = {"offline": False, "latency": 400, "downloadThroughput": 400_000 / 8,
              "uploadThroughput": 400_000 / 8}


@dataclasses.dataclass
class Request:
    url: str
    type: str = ""
    mime: str = ""
    status: int = 0
    bytes: int = 0
    from_cache: bool = False
    done: bool = False

    @property
    def kind(self) -> str:
        mime = self.mime.lower()
        if self.type == "Font" or mime.startswith("font/") or "font" in mime:
            return "font"
        if self.type == "Stylesheet" or mime == "text/css":
            return "css"
        if self.type == "Script" or "javascript" in mime:
            return "js"
        if mime == "text/html" and self.type in ("Document", "XHR", "Fetch"):
            return "html"
        return "other"


class NetworkLog:
    """Every request of a page as the DevTools protocol reports it."""

    def __init__(self, cdp):
        self.requests: dict[str, Request] = {}
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.responseReceived", self._response)
        cdp.on("Network.requestServedFromCache", self._cached)
        cdp.on("Network.loadingFinished", self._finished)
        cdp.on("Network.loadingFailed", self._failed)
        cdp.send("Network.enable")

    def _sent(self, params):
        request = self.requests.setdefault(params["requestId"],
                                           Request(params["request"]["url"]))
        if "redirectResponse" in params:     # the redirect's own bytes count too
            request.bytes += int(params["redirectResponse"].get("encodedDataLength") or 0)
        request.url = params["request"]["url"]
        request.type = params.get("type", "")

    def _response(self, params):
        request = self.requests.get(params["requestId"])
        if request is not None:
            response = params["response"]
            request.mime = response.get("mimeType", "")
            request.status = response.get("status", 0)
            request.type = params.get("type", request.type)
            if response.get("fromDiskCache") or response.get("fromPrefetchCache") or \
                    response.get("fromServiceWorker"):
                request.from_cache = True

    def _cached(self, params):
        request = self.requests.get(params["requestId"])
        if request is not None:
            request.from_cache = True

    def _finished(self, params):
        request = self.requests.get(params["requestId"])
        if request is not None:
            request.bytes += int(params.get("encodedDataLength") or 0)
            request.done = True

    def _failed(self, params):
        request = self.requests.get(params["requestId"])
        if request is not None:
            request.done = True

    def reset(self):
        self.requests.clear()

    def settle(self, page, timeout: float = 10.0):
        """Wait until every request seen so far has finished (or failed)."""
        deadline = time.monotonic() + timeout
        page.wait_for_timeout(200)
        while any(not r.done for r in self.requests.values()):
            pending = [r.url for r in self.requests.values() if not r.done]
            assert time.monotonic() < deadline, f"still loading: {pending}"
            page.wait_for_timeout(50)

    def summary(self, origin: str) -> dict:
        web = [r for r in self.requests.values() if r.url.startswith(("http:", "https:"))]
        sums = {"total": 0, "html": 0, "js": 0, "css": 0, "font": 0, "other": 0}
        for r in web:
            sums["total"] += r.bytes
            sums[r.kind] += r.bytes
        return {
            **sums,
            "requests": len(web),
            "font_requests": sum(r.kind == "font" for r in web),
            "foreign": sorted({r.url for r in web if not r.url.startswith(origin + "/")}),
            "detail": [{"url": r.url[len(origin):] if r.url.startswith(origin) else r.url,
                        "type": r.type, "kind": r.kind, "status": r.status, "bytes": r.bytes,
                        "from_cache": r.from_cache} for r in web],
        }


@pytest.fixture(scope="module")
def report():
    data: dict = {}
    yield data
    lines = []
    for name, page in data.get("pages", {}).items():
        cold, warm = page["cold"], page["warm"]
        lines.append(f"{name:10} cold: total {cold['total']:>6} B  html {cold['html']:>6}  "
                     f"js {cold['js']:>6}  css {cold['css']:>6}  other {cold['other']:>5}  "
                     f"({cold['requests']} requests)   warm: {warm['total']} B moved "
                     f"(html {warm['html']}, static from cache: {page['warm_static_cached']})")
    for name, search in data.get("htmx", {}).items():
        lines.append(f"htmx search {name}: {search['bytes']} B ({search['rows']} rows)")
    if "slow_phone" in data:
        slow = data["slow_phone"]
        lines.append(f"slow phone (400 kbit/s, 400 ms): /customers DOMContentLoaded "
                     f"{slow['dom_content_loaded_ms']} ms, load {slow['load_ms']} ms")
    lines.append(f"budgets: total <= {BUDGET['total']} B, html <= {BUDGET['html']} B, "
                 f"js <= {BUDGET['js']} B, css <= {BUDGET['css']} B, htmx <= {HTMX_BUDGET} B "
                 f"(1 KB = 1024 B, headers included)")
    data["lines"] = lines
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "page-weight.json").write_text(json.dumps(data, indent=2, ensure_ascii=False))
    print("\n" + "\n".join(lines))


@pytest.fixture
def fresh_context(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport=DESKTOP, locale="zh-CN",
                                  timezone_id="Asia/Shanghai")
    context.set_default_timeout(TIMEOUT_MS)
    yield context
    context.close()


def _path(name, demo):
    return "/customers" if name == "customers" else f"/customers/{demo.customer_id}"


@pytest.mark.parametrize("name", ["customers", "customer"])
def test_page_weight_cold_and_warm(fresh_context, live_server, demo, report, name):
    sign_in_by_request(fresh_context, live_server.url)     # no page loaded: the cache is cold
    page = fresh_context.new_page()
    problems = watch(page)
    cdp = fresh_context.new_cdp_session(page)
    log = NetworkLog(cdp)
    cdp.send("Network.clearBrowserCache")

    path = _path(name, demo)
    response = page.goto(path, wait_until="networkidle")
    assert response.status == 200 and urlsplit(page.url).path == path, page.url
    log.settle(page)
    cold = log.summary(live_server.url)

    log.reset()
    page.reload(wait_until="networkidle")
    log.settle(page)
    warm = log.summary(live_server.url)
    static = [r for r in warm["detail"] if r["kind"] in ("js", "css", "font", "other")]
    warm_static_cached = all(r["from_cache"] and r["bytes"] == 0 for r in static)
    report.setdefault("pages", {})[name] = {"path": path, "cold": cold, "warm": warm,
                                            "warm_static_cached": warm_static_cached}
    problems.check()

    assert cold["foreign"] == [], f"requests to other origins: {cold['foreign']}"
    assert cold["font_requests"] == 0, "web fonts requested"
    assert cold["html"] <= BUDGET["html"], cold["detail"]
    assert cold["js"] <= BUDGET["js"], cold["detail"]
    assert cold["css"] <= BUDGET["css"], cold["detail"]
    assert cold["total"] <= BUDGET["total"], cold["detail"]
    assert any(r["kind"] == "css" for r in cold["detail"]) and \
        any(r["kind"] == "js" for r in cold["detail"]), "the page loaded no CSS or JS at all?"
    # A repeat visit moves only HTML: every static asset comes from the cache, unasked.
    assert warm["foreign"] == []
    assert warm_static_cached, [r for r in static if not (r["from_cache"] and r["bytes"] == 0)]
    assert warm["total"] == warm["html"], warm["detail"]
    assert warm["html"] > 0


def test_htmx_search_moves_at_most_5_kb(fresh_context, live_server, demo, report):
    sign_in_by_request(fresh_context, live_server.url)
    page = fresh_context.new_page()
    problems = watch(page)
    cdp = fresh_context.new_cdp_session(page)
    log = NetworkLog(cdp)
    page.goto("/customers", wait_until="networkidle")
    log.settle(page)
    # One character found in many names fills a whole page of results: the worst case.
    for label, term in (("1 character", demo.broad_term),
                        ("2 characters", demo.by_han[0])):
        log.reset()

        def is_search(response, term=term):
            return parse_qs(urlsplit(response.url).query).get("q") == [term]
        with page.expect_response(is_search) as info:
            page.fill("#q", term)
        assert info.value.request.headers.get("hx-request") == "true"
        info.value.finished()
        log.settle(page)
        searches = [r for r in log.requests.values()
                    if parse_qs(urlsplit(r.url).query).get("q") == [term]]
        assert len(searches) == 1 and searches[0].type in ("XHR", "Fetch"), searches
        rows = page.locator("#results tbody tr:not(#load-more)").count()
        report.setdefault("htmx", {})[f"{label} {term!r}"] = {"bytes": searches[0].bytes,
                                                              "rows": rows}
        assert rows >= 1
        assert searches[0].bytes <= HTMX_BUDGET, searches[0]
    problems.check()


def test_slow_phone_profile(browser, live_server, demo, report):
    """Cold /customers on 400 kbit/s with 400 ms latency is usable within 2 s (DOMContentLoaded:
    the HTML and its CSS and JS are there)."""
    from tests.e2e.conftest import PHONE
    context = browser.new_context(base_url=live_server.url, viewport=PHONE, is_mobile=True,
                                  has_touch=True, locale="zh-CN")
    context.set_default_timeout(TIMEOUT_MS)
    try:
        sign_in_by_request(context, live_server.url)
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.clearBrowserCache")
        cdp.send("Network.emulateNetworkConditions", SLOW_PHONE)
        page.goto("/customers", wait_until="load")
        timing = page.evaluate("""() => {
            const n = performance.getEntriesByType('navigation')[0];
            return {dcl: Math.round(n.domContentLoadedEventEnd), load: Math.round(n.loadEventEnd)};
        }""")
    finally:
        context.close()
    report["slow_phone"] = {"dom_content_loaded_ms": timing["dcl"], "load_ms": timing["load"]}
    assert timing["dcl"] <= 2000, timing
