#!/usr/bin/env python3
"""The KPI page as people wait for it, on the production server: the whole page computed at once
(no JavaScript, or a reload) against the page through htmx (the menu link) whose pending cards
are then fetched six at a time, as a browser does over HTTP/1.1.

    python bench/insights_page_bench.py --instance bench/data/sqlite [--repeat 3] [--workers 2]

Starts ``crm serve`` like bench/run.py (gunicorn, ``--workers`` x 4 threads) with
``INSIGHTS_CACHE_SECONDS=0`` (every figure computed each time: a first visit; with ``--warm``
the cache is on and ``crm insights-refresh`` has run first, as the nightly job), signs in as
``admin`` (the whole base: the slowest case) and prints, per period, the median of
``--repeat`` runs: the plain page; and for the htmx page, the time to the page and the time
until its last card and the funnel have arrived.
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as bench_run  # noqa: E402  (bench/run.py: the server and the sign-in)


def fetch(base: str, path: str, cookie: str, headers: dict | None = None) -> str:
    request = urllib.request.Request(base + path, headers=dict(headers or {}, Cookie=cookie))
    with urllib.request.urlopen(request, timeout=300) as response:
        assert response.status == 200, (path, response.status)
        return response.read().decode()


def plain(base: str, cookie: str, period: str) -> float:
    started = time.perf_counter()
    page = fetch(base, f"/insights?period={period}", cookie)
    assert 'hx-get="/insights/kpi' not in page
    return time.perf_counter() - started


def through_htmx(base: str, cookie: str, period: str) -> tuple[float, float, int]:
    started = time.perf_counter()
    page = fetch(base, f"/insights?period={period}", cookie,
                 {"HX-Request": "true", "HX-Boosted": "true"})
    shown = time.perf_counter() - started
    pending = [u.replace("&amp;", "&") for u in
               re.findall(r'hx-get="(/insights/(?:kpi|funnel)\?[^"]+)" hx-trigger="load"', page)]
    with ThreadPoolExecutor(max_workers=6) as pool:    # a browser's connections per host
        list(pool.map(lambda u: fetch(base, u, cookie, {"HX-Request": "true"}), pending))
    return shown, time.perf_counter() - started, len(pending)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instance", default="bench/data/sqlite")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--periods", default="month,12m")
    parser.add_argument("--warm", action="store_true",
                        help="cache on, after `crm insights-refresh` (the nightly job: scores, "
                             "segments, the settled figures of admins and managers)")
    args = parser.parse_args(argv)
    instance = Path(args.instance).resolve()
    meta = json.loads((instance / "bench_meta.json").read_text())
    url = meta.get("database_url") or "sqlite:///" + str(instance / "crm.db")
    environment = bench_run.server_env
    if args.warm:
        import subprocess
        subprocess.run(bench_run.crm_command() + ["init"], check=True,    # migrations first
                       env=environment(instance, url), cwd=instance)
        started = time.perf_counter()
        subprocess.run(bench_run.crm_command() + ["insights-refresh"], check=True,
                       env=environment(instance, url), cwd=instance)
        print(f"crm insights-refresh (scores, segments, settled figures): "
              f"{time.perf_counter() - started:,.1f} s")
    else:
        bench_run.server_env = lambda *a: dict(environment(*a), CRM_INSIGHTS_CACHE_SECONDS="0")
    bench_run.DATA.mkdir(exist_ok=True)
    server = bench_run.Server(instance, url, args.workers,
                              bench_run.DATA / "server-insights-page.log")
    try:
        cookie = bench_run.sign_in(server.base, "admin")
        print(f"{meta['customers']:,} customers; admin; {args.workers} workers x 4 threads; "
              f"{'cache on, after the nightly job' if args.warm else 'cache off'}; "
              f"median of {args.repeat}")
        for period in args.periods.split(","):
            if args.warm:   # the first visit is the figure: htmx first (cards computed then)
                runs = [through_htmx(server.base, cookie, period) for _ in range(args.repeat)]
                whole = [plain(server.base, cookie, period) for _ in range(args.repeat)]
            else:
                whole = [plain(server.base, cookie, period) for _ in range(args.repeat)]
                runs = [through_htmx(server.base, cookie, period) for _ in range(args.repeat)]
            print(f"period={period}: whole page {statistics.median(whole) * 1000:,.0f} ms; "
                  f"through htmx: page {statistics.median(r[0] for r in runs) * 1000:,.0f} ms, "
                  f"all {runs[0][2]} cards in {statistics.median(r[1] for r in runs) * 1000:,.0f} ms")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
