#!/usr/bin/env python3
"""The end-to-end benchmark: the production server on a generated database, measured with wrk.

    python bench/generate.py --instance bench/data/sqlite --reset          # once (see there)
    python bench/run.py --instance bench/data/sqlite [--duration 10] [--connections 1,8]

    python bench/generate.py --instance bench/data/pg --reset \\
        --database-url postgresql://postgres@127.0.0.1:5432/test            # schema crm_bench
    python bench/run.py --instance bench/data/pg                            # URL from the meta

What it does:

1. Starts ``crm serve --workers 2 --no-worker`` (gunicorn, gthread, 4 threads per worker:
   exactly what production runs; the job worker is left out, every event is delivered) on a
   free port of 127.0.0.1, against the instance's database.
2. Signs in as ``admin`` (sees every customer: the largest counts and scans) and, for the
   list, also as the rep ``sales01`` (a scoped list).
3. For each endpoint, a warm-up, then ``wrk`` for ``--duration`` seconds at each
   ``--connections`` level, with a Lua script that rotates over many paths (different
   search terms, different customers) and checks that every answer is a 200 (a redirect to
   the sign-in page would otherwise count as a fast success).  Latency percentiles come from
   wrk's own histogram (``latency:percentile``): p50, p95, p99 and max, plus requests/s.
   wrk is closed-loop: at 1 connection the figures are the service time of one request; at 8
   (the server's 2 x 4 threads) they include queueing under saturation.
4. Reads the workers' memory (VmRSS and its peak, VmHWM) after start and after the load.
5. Unless ``--import-rows 0``: times the import of that many customers through the bulk path
   (``generate.py --customers N --activities 0 --purchases 0`` into a scratch database or
   schema, dropped afterwards).

Endpoints: ``/healthz`` (the ceiling: one ``SELECT 1`` through the whole Flask stack), the
customer list (first page, newest first), the htmx search partial for each kind of search
(two Chinese characters, full pinyin, initials, the last 4 phone digits, the customer number),
the customer page (random customers, and the one with the most activities), the dashboard
frame and its three cards.  Results go to ``bench/data/results-<name>.json`` and a Markdown
table is printed for ``bench/RESULTS.md``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
DATA = BENCH / "data"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PASSWORD = "bench-load-2026"     # bench/generate.py's staff password
TARGET_P95_MS = 50.0
TARGET_IMPORT_S = 30.0
HTMX_SEARCH = {"HX-Request": "true", "HX-Target": "results", "HX-Current-URL": "/customers"}
HTMX_CARD = {"HX-Request": "true"}

LUA = r"""
-- rotates over PATHS, sends HEADERS, counts answers that are not 200 (per thread, summed in done)
local paths = %(paths)s
local headers = %(headers)s
local threads = {}
local counter = 0

function setup(thread)
   thread:set("id", #threads)
   table.insert(threads, thread)
end

function init(args)
   counter = id * 7919
   bad = 0
   good = 0
end

function request()
   counter = counter + 1
   return wrk.format("GET", paths[(counter %% #paths) + 1], headers)
end

function response(status, hdrs, body)
   if status == 200 then good = good + 1 else bad = bad + 1 end
end

function done(summary, latency, requests)
   local bad_total, good_total = 0, 0
   for _, thread in ipairs(threads) do
      bad_total = bad_total + thread:get("bad")
      good_total = good_total + thread:get("good")
   end
   io.write(string.format(
      'WRKJSON {"requests": %%d, "duration_us": %%d, "good": %%d, "bad": %%d, ' ..
      '"connect_errors": %%d, "read_errors": %%d, "write_errors": %%d, "timeouts": %%d, ' ..
      '"p50_us": %%d, "p90_us": %%d, "p95_us": %%d, "p99_us": %%d, "max_us": %%d, ' ..
      '"mean_us": %%.1f}\n',
      summary.requests, summary.duration, good_total, bad_total,
      summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(95),
      latency:percentile(99), latency.max, latency.mean))
end
"""


def log(message: str) -> None:
    print(message, flush=True)


# -- set-up -------------------------------------------------------------------------------------

def ensure_wrk() -> str:
    """wrk from the distribution (apt-get install wrk), installed when missing and we are root."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        log("installing wrk (apt-get install -y wrk)")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "wrk"],
                       check=True, env=env, stdout=subprocess.DEVNULL)
        found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is needed: apt-get install wrk")
    return found


def crm_command() -> list[str]:
    script = Path(sys.executable).with_name("crm")
    return [str(script)] if script.exists() else [sys.executable, "-m", "crm.cli"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(instance: Path, url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    env.update(CRM_INSTANCE_PATH=str(instance), CRM_DATABASE_URL=url, PYTHONUNBUFFERED="1")
    return env


class Server:
    def __init__(self, instance: Path, url: str, workers: int, log_path: Path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.out = open(log_path, "wb")
        self.process = subprocess.Popen(
            crm_command() + ["serve", "--host", "127.0.0.1", "--port", str(self.port),
                             "--workers", str(workers), "--no-worker"],
            env=server_env(instance, url), cwd=instance, stdout=self.out,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 90
        while True:
            if self.process.poll() is not None:
                raise SystemExit(f"crm serve exited:\n{log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=2) as response:
                    if json.load(response).get("status") == "ok":
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"crm serve did not answer in 90 s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.3)

    def workers(self) -> list[int]:
        """The gunicorn workers: the children of the master (``crm serve`` itself)."""
        pid = self.process.pid
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            return []
        return [int(c) for c in children]

    def memory(self) -> list[dict]:
        result = []
        for pid in self.workers():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            fields = dict(re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", status, re.M))
            result.append({"pid": pid, "rss_mb": round(int(fields.get("VmRSS", 0)) / 1024, 1),
                           "peak_mb": round(int(fields.get("VmHWM", 0)) / 1024, 1)})
        return result

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait(5)
        self.out.close()


def sign_in(base: str, username: str) -> str:
    """Sign in through the form; returns the session cookie ("name=value")."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base + "/login", timeout=10).read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode({"csrf_token": token, "username": username,
                                   "password": PASSWORD}).encode()
    opener.open(base + "/login", data=data, timeout=30).read()
    cookies = [c for c in jar if c.name == "session"]
    if not cookies:
        raise SystemExit(f"signing in as {username} failed (no session cookie)")
    cookie = f"session={cookies[0].value}"
    check = urllib.request.Request(base + "/customers", headers={"Cookie": cookie})
    with urllib.request.urlopen(check, timeout=30) as response:
        if "/login" in response.geturl() or response.status != 200:
            raise SystemExit(f"signed in as {username}, but /customers is not reachable")
    return cookie


# -- what to request ----------------------------------------------------------------------------

def pick_paths(url: str, seed: int, count: int = 100) -> dict:
    """Paths for every endpoint, chosen from the data (deterministic for a seed)."""
    from pypinyin import Style, lazy_pinyin

    from crm.db import open_database
    db = open_database(url)
    db.connect()
    rng = random.Random(seed)

    def rows(sql, params=()):
        return db.execute_sql(sql, params).fetchall()

    max_id = rows("SELECT MAX(id) FROM customer")[0][0]
    sample_ids = sorted({rng.randint(1, max_id) for _ in range(count * 6)})
    marks = ", ".join(["%s" if "postgres" in url else "?"] * len(sample_ids))
    sample = rows(f"SELECT id, kind, name, phone, number, region FROM customer "
                  f"WHERE deleted_at IS NULL AND id IN ({marks}) ORDER BY id", sample_ids)
    rng.shuffle(sample)
    han = re.compile(r"^[\u3400-\u9fff]+$")
    persons = [r for r in sample if r[1] == "person" and han.match(r[2]) and len(r[2]) >= 2]
    companies = [r for r in sample if r[1] == "company" and r[5] and r[2].startswith(r[5])
                 and han.match(r[2][len(r[5]):len(r[5]) + 2] or "x")]

    def two_chars(i):   # a person's surname and first given character, or a company's brand
        if i % 2 and companies:
            row = companies[i // 2 % len(companies)]
            return row[2][len(row[5]):len(row[5]) + 2]
        return persons[i // 2 % len(persons)][2][:2]

    def q(term):
        return "/customers?q=" + urllib.parse.quote(term)

    phones = [r for r in sample if len(re.sub(r"\D", "", r[3] or "")) >= 11]
    heaviest = rows("SELECT customer_id, COUNT(*) FROM activity GROUP BY customer_id "
                    "ORDER BY COUNT(*) DESC, customer_id LIMIT 1")[0]
    db.close()
    return {
        "ceiling": ["/healthz"],
        "list": ["/customers"],
        "search_han2": [q(two_chars(i)) for i in range(count)],
        "search_pinyin": [q("".join(lazy_pinyin(r[2])).lower()) for r in persons[:count]],
        "search_initials": [q("".join(lazy_pinyin(r[2], style=Style.FIRST_LETTER)).lower())
                            for r in persons[:count]],
        "search_phone4": [q(re.sub(r"\D", "", r[3])[-4:]) for r in phones[:count]],
        "search_number": [q(r[4]) for r in sample[:count]],
        "customer_page": [f"/customers/{r[0]}" for r in sample[:count * 2]],
        "customer_page_heaviest": [f"/customers/{heaviest[0]}"],
        "dashboard": ["/"],
        "card_followups": ["/dashboard/cards/followups"],
        "card_activity": ["/dashboard/cards/activity"],
        "card_customers": ["/dashboard/cards/customers"],
        "_heaviest_activities": heaviest[1],
    }


ENDPOINTS = [
    # (key, label, user, headers, target p95?)
    ("ceiling", "`/healthz` (ceiling: Flask + `SELECT 1`)", None, {}, False),
    ("list", "customer list, page 1 (admin: all customers)", "admin", {}, True),
    ("list", "customer list, page 1 (rep sales01: own customers)", "sales01", {}, True),
    ("search_han2", "search: 2 Chinese characters (htmx partial)", "admin", HTMX_SEARCH, True),
    ("search_pinyin", "search: full pinyin", "admin", HTMX_SEARCH, True),
    ("search_initials", "search: initials (e.g. `zw`)", "admin", HTMX_SEARCH, True),
    ("search_phone4", "search: last 4 phone digits", "admin", HTMX_SEARCH, True),
    ("search_number", "search: customer number", "admin", HTMX_SEARCH, True),
    ("customer_page", "customer page (random customers)", "admin", {}, True),
    ("customer_page_heaviest", "customer page (most activities)", "admin", {}, True),
    ("dashboard", "dashboard frame", "admin", {}, False),
    ("card_followups", "dashboard card: follow-ups", "admin", HTMX_CARD, False),
    ("card_activity", "dashboard card: my activities", "admin", HTMX_CARD, False),
    ("card_customers", "dashboard card: customers (counts)", "admin", HTMX_CARD, False),
]


# -- measuring ----------------------------------------------------------------------------------

def lua_table(values) -> str:
    return "{" + ", ".join(json.dumps(v, ensure_ascii=True) for v in values) + "}"


def lua_headers(headers: dict) -> str:
    return "{" + ", ".join(f"[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items()) + "}"


def run_wrk(wrk: str, base: str, paths: list[str], headers: dict, connections: int,
            duration: float, workdir: Path) -> dict:
    script = workdir / "bench.lua"
    script.write_text(LUA % {"paths": lua_table(paths), "headers": lua_headers(headers)})
    threads = max(1, min(connections, 2))
    command = [wrk, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s", "--timeout", "10s",
               "-s", str(script), base + "/"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60)
    match = re.search(r"^WRKJSON (.*)$", result.stdout, re.M)
    if result.returncode != 0 or not match:
        raise SystemExit(f"wrk failed:\n{result.stdout}\n{result.stderr}")
    raw = json.loads(match.group(1))
    seconds = raw["duration_us"] / 1e6
    return {
        "connections": connections, "requests": raw["requests"],
        "rps": round(raw["requests"] / seconds, 1) if seconds else 0.0,
        "p50_ms": raw["p50_us"] / 1000, "p90_ms": raw["p90_us"] / 1000,
        "p95_ms": raw["p95_us"] / 1000, "p99_ms": raw["p99_us"] / 1000,
        "max_ms": raw["max_us"] / 1000, "mean_ms": round(raw["mean_us"] / 1000, 2),
        "not_200": raw["bad"],
        "socket_errors": raw["connect_errors"] + raw["read_errors"] + raw["write_errors"]
        + raw["timeouts"],
    }


def body_size(base: str, path: str, headers: dict) -> int:
    """Bytes of one answer on the wire (brotli, as a browser asks), for the table; -1 when it
    does not come within two minutes."""
    request = urllib.request.Request(base + path, headers=dict(headers, **{
        "Accept-Encoding": "br, gzip"}))
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return len(response.read())
    except OSError:
        return -1


def drain(base: str, limit: float = 180.0) -> None:
    """Wait until the server answers /healthz within a second again: requests a slow endpoint
    left queued must not be counted against the next one."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        started = time.monotonic()
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=5) as response:
                response.read()
            if time.monotonic() - started < 1.0:
                return
        except OSError:
            pass
        time.sleep(1)


def measure_import(rows: int, url: str | None, seed: int) -> dict:
    """generate.py's import of ``rows`` customers into a scratch database or schema."""
    scratch = DATA / ("import-pg" if url else "import-sqlite")
    base = [sys.executable, str(BENCH / "generate.py"), "--instance", str(scratch), "--seed",
            str(seed)]
    if url:
        base += ["--database-url", url, "--schema", "crm_bench_import"]
    try:
        subprocess.run(base + ["--reset", "--customers", str(rows), "--activities", "0",
                               "--purchases", "0", "--no-analyze"], check=True)
        meta = json.loads((scratch / "bench_meta.json").read_text())
    finally:
        subprocess.run(base + ["--drop"], check=False, stdout=subprocess.DEVNULL)
    return {"rows": rows, "seconds": meta["import_seconds"],
            "cpu_seconds": meta.get("import_cpu_seconds"), "loadavg": meta.get("loadavg"),
            "timings": meta["timings"]}


# -- report -------------------------------------------------------------------------------------

def markdown(results: dict) -> str:
    lines = [f"| endpoint | conn | p50 ms | p95 ms | p99 ms | max ms | req/s | bytes | p95 target |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for entry in results["endpoints"]:
        for run in entry["runs"]:
            verdict = ""
            if not run["requests"]:
                verdict = "no answer in the time"
            elif entry["target"]:
                verdict = "met" if run["p95_ms"] <= TARGET_P95_MS else \
                    f"**missed** by {run['p95_ms'] - TARGET_P95_MS:.0f} ms"
            bad = f" ({run['not_200']} not 200)" if run["not_200"] else ""
            if run["socket_errors"]:
                bad += f" ({run['socket_errors']} timed out or failed)"
            lines.append(f"| {entry['label']}{bad} | {run['connections']} | {run['p50_ms']:.1f} | "
                         f"{run['p95_ms']:.1f} | {run['p99_ms']:.1f} | {run['max_ms']:.0f} | "
                         f"{run['rps']:.1f} | {entry['bytes']:,} | {verdict} |")
    mem = results["memory"]
    lines.append("")
    lines.append("Workers' memory (RSS): after start " +
                 ", ".join(f"{m['rss_mb']} MB" for m in mem["after_start"]) +
                 "; after the load " + ", ".join(f"{m['rss_mb']} MB (peak {m['peak_mb']} MB)"
                                                 for m in mem["after_load"]) + ".")
    if results.get("import"):
        imp = results["import"]
        verdict = "met" if imp["seconds"] <= TARGET_IMPORT_S else \
            f"**missed** by {imp['seconds'] - TARGET_IMPORT_S:.1f} s"
        lines.append(f"Import of {imp['rows']:,} customers through the bulk path: "
                     f"{imp['seconds']:.1f} s (CPU time of the importing process "
                     f"{imp.get('cpu_seconds') or 0:.1f} s; load average at the end "
                     f"{imp.get('loadavg')}) (target <= {TARGET_IMPORT_S:.0f} s: {verdict}).")
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instance", required=True, help="the instance generate.py filled")
    parser.add_argument("--database-url", default=None,
                        help="default: the one in the instance's bench_meta.json")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up per endpoint")
    parser.add_argument("--connections", default="1,8",
                        help="comma-separated wrk connection counts (default 1,8)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--only", default="", help="comma-separated endpoint keys to measure")
    parser.add_argument("--import-rows", type=int, default=100_000,
                        help="customers to import through the bulk path (0: skip)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--name", default=None, help="results file name (default: the database)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    instance = Path(args.instance).resolve()
    meta = json.loads((instance / "bench_meta.json").read_text())
    url = args.database_url or meta.get("database_url") or \
        "sqlite:///" + str(instance / "crm.db")
    kind = "postgresql" if url.startswith("postgres") else "sqlite"
    name = args.name or kind
    wrk = ensure_wrk()
    connections = [int(c) for c in args.connections.split(",") if c.strip()]
    only = {k for k in args.only.split(",") if k}
    DATA.mkdir(exist_ok=True)

    log(f"picking paths from {kind} ({meta['customers']:,} customers)")
    paths = pick_paths(url, args.seed)
    results = {"database": kind, "meta": meta, "date": dt.datetime.now().isoformat(timespec="seconds"),
               "connections": connections, "duration_s": args.duration, "workers": args.workers,
               "endpoints": [], "memory": {}}
    server = Server(instance, url, args.workers, DATA / f"server-{name}.log")
    try:
        results["memory"]["after_start"] = server.memory()
        cookies = {user: sign_in(server.base, user) for user in ("admin", "sales01")}
        with tempfile.TemporaryDirectory() as tmp:
            for key, label, user, headers, target in ENDPOINTS:
                if only and key not in only:
                    continue
                sent = dict(headers, **{"Accept-Encoding": "br, gzip"})
                if user:
                    sent["Cookie"] = cookies[user]
                if key == "customer_page_heaviest":
                    label += f" ({paths['_heaviest_activities']:,} activities)"
                entry = {"key": key, "label": label, "user": user, "target": target,
                         "paths": len(paths[key]),
                         "bytes": body_size(server.base, paths[key][0], sent), "runs": []}
                run_wrk(wrk, server.base, paths[key], sent, max(connections), args.warmup,
                        Path(tmp))
                drain(server.base)
                for c in connections:
                    run = run_wrk(wrk, server.base, paths[key], sent, c, args.duration, Path(tmp))
                    drain(server.base)
                    entry["runs"].append(run)
                    log(f"  {label} c={c}: p50 {run['p50_ms']:.1f} ms, p95 {run['p95_ms']:.1f} ms, "
                        f"p99 {run['p99_ms']:.1f} ms, {run['rps']:.0f} req/s"
                        + (f", {run['not_200']} NOT 200" if run["not_200"] else "")
                        + (f", {run['socket_errors']} timed out" if run["socket_errors"] else ""))
                results["endpoints"].append(entry)
        results["memory"]["after_load"] = server.memory()
    finally:
        server.stop()
    if args.import_rows:
        log(f"import of {args.import_rows:,} customers through the bulk path ({kind})")
        base_url = None
        if kind == "postgresql":
            base_url = re.sub(r"[?&]options=[^&]*", "", url)
        results["import"] = measure_import(args.import_rows, base_url, args.seed)
    out = DATA / f"results-{name}.json"
    out.write_text(json.dumps(results, ensure_ascii=False, indent=2))
    log(f"\nresults: {out}\n")
    log(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
