"""How fast does the HTTP API answer 50 clients at once, over a published warehouse of at least 1M metric values,
when the answers are cached (dashboards polling) and when every answer must be computed?

* **Warehouse**: ``generate_landing`` at ``RATE`` conversations an hour with one side event each, ``DAYS`` days
  (6: 43,200 conversations, about 1.2M metric values; ``--quick``: 1 day) ending at ``HISTORY_END``,
  materialized as one window through ``pipeline_steps`` and published (``publish``), in a child process
  (``bench.publishing:build_child``).
* **Server**: ``uvicorn --factory metricstore.api.app:create_app`` on 127.0.0.1 and a free port, one process,
  access log off, with METRICSTORE_WAREHOUSE / _PUBLISHED / _METRIC_DEFS / _API_KEYS pointing into the temp
  folder; a viewer key of the workspace made by ``metricstore keys create --json``. The API reloads the
  definitions only when their files change (``CatalogCache``) and keeps every read answer per route and
  parameters while the published snapshot and the definitions are unchanged (``AnswerCache``, LRU of 1024).
* **Load shapes**, per route, both with ``CLIENTS`` (50) closed-loop clients (each sends its next request as
  soon as the last is answered):

  - ``polling``, what dashboards do: small pools of parameters, so after the first answer almost every
    request is a cache hit. latest: the aggregates (one path); values (``limit=90``) and trend (``days=30``):
    one path per metric; catalog: one path; get-metric: ``POLLING_CALLS`` (200) call ids.
  - ``distinct``: every request's parameters are new (the draws are checked to be a set), so every answer is
    computed: latest with ``scope=entity&entity_id=<a conversation>``, values with its own
    (key, date_from, date_to, limit), trend with its own (key, days), get-metric with its own ``callId``.
    Conversation ids are ``conv_42_{hour}_{n}``, generate_landing's ids (seed 42, hour < DAYS·24,
    n < RATE), so every one exists. The catalog route has no parameter besides the workspace: it cannot be
    asked anything new, so it has no ``distinct`` shape (polling only).

  The clients are coroutines in this process, each with its own keep-alive HTTP/1.1 connection written on
  asyncio streams (``_Connection``: with httpx, this process's own CPU per request saturated its core before
  the server's), opened before a phase's first request. Per route and shape: warm-up requests (not counted:
  one per client; in ``polling`` every path of the pool once, in ``distinct`` parameters of their own too),
  then ``REQUESTS`` timed requests (``--quick``: ``QUICK_REQUESTS``) taken from a shared queue; each request's
  latency is ``perf_counter`` around sending it and reading the whole answer (so it includes this process's
  own CPU). An error is any answer but 200, or an exception; an *empty* answer is a 200 without data (no
  entities, no points), counted apart to show that the drawn parameters are real. Reported: p50/p95/p99,
  requests/s, the server's CPU (utime + stime of its process from /proc over the wall time: 1.0 = one core
  busy) and this client process's. Then ``SINGLE_REQUESTS`` requests (new ones in ``distinct``) by one client
  alone: the service time of a request without queueing.
* **Little's law**: in a closed loop, mean latency ≈ clients / throughput, so p99 < 50 ms at 50 clients asks for
  well over 1,000 requests/s; the summary sets each shape's throughput beside it.
* **Where a request's time goes**: with the server stopped, in a child process, the parts of a request called
  directly, median of 30 each: ``CatalogCache.current()`` on an unchanged folder (what every request now pays
  for the definitions: listing and stat-ing the folder's files), checking the key, taking a connection to the
  published file, and each route's query function (what a cache miss computes).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench.generate import REPO, builtin_defs, generate_landing, run_in_child

DAYS = 6
QUICK_DAYS = 1
RATE = 300  # conversations an hour, each with one side event
SEED = 42  # generate_landing's default: conversation ids are conv_{SEED}_{hour}_{n}
HISTORY_END = datetime(2026, 3, 2, 12)
WORKSPACE = "ws_bench"
CLIENTS = 50
REQUESTS = 600  # per route and shape, after the warm-up
QUICK_REQUESTS = 150
SINGLE_REQUESTS = 50  # per route and shape, by one client alone
POLLING_CALLS = 200  # call ids a polling get-metric dashboard cycles through
TARGET_P99_MS = 50.0
ROUTES = ("latest", "values", "trend", "catalog", "get-metric")
SHAPES = ("polling", "distinct")
# routes with no parameter to vary: every request is the same question, so there is no distinct shape
NOT_DISTINCT = {"catalog": "no parameter besides the workspace: every request asks the same question"}
# a 200 whose body holds this asked for nothing that exists (only the routes whose answers can be empty)
EMPTY_MARKERS = {"latest": '"entities":[]', "values": '"points":[]'}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (/proc/<pid>/stat fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cli(env: dict[str, str], *args: str) -> str:
    """Run the ``metricstore`` command line (the one beside this Python, else through ``-c``); its stdout."""
    script = Path(sys.executable).with_name("metricstore")
    command = [str(script)] if script.exists() else [sys.executable, "-c", "from metricstore.cli import main; main()"]
    done = subprocess.run([*command, *args], env=env, cwd=REPO, capture_output=True, text=True, check=True)
    return done.stdout


def _wait_until_up(base: str, server: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the API server exited with {server.returncode}")
        try:
            httpx.get(f"{base}/openapi.json", timeout=5.0)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError(f"the API server did not answer within {timeout:g} s")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


class _Connection:
    """One client's keep-alive HTTP/1.1 connection, written by hand on asyncio streams: httpx costs 4–5 ms of this
    process's CPU a request, so at a few hundred requests/s the load client, not the API, was the bottleneck
    (its one core busy while the server's was half idle). Answers carry Content-Length (the API sends no chunked
    bodies); the connection is opened again after an error or ``Connection: close``."""

    def __init__(self, host: str, port: int, key: str):
        self._host, self._port = host, port
        self._head = f"Host: {host}:{port}\r\nAuthorization: Bearer {key}\r\n\r\n".encode()
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def open(self) -> None:
        self.close()
        self._streams = await asyncio.open_connection(self._host, self._port)

    def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None

    async def get(self, path: str) -> tuple[int, bytes]:
        if self._streams is None:
            await self.open()
        assert self._streams is not None
        reader, writer = self._streams
        writer.write(f"GET {path} HTTP/1.1\r\n".encode() + self._head)
        head = await reader.readuntil(b"\r\n\r\n")
        status, length, close = int(head[9:12]), 0, False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value == b"close":
                close = True
            elif name == b"transfer-encoding":
                raise ValueError(f"unexpected Transfer-Encoding {value!r}")
        body = await reader.readexactly(length)
        if close:
            self.close()
        return status, body


async def _clients(
    host: str, port: int, key: str, queue: list[str], count: int, marker: str | None, latencies: list[float] | None
) -> dict[str, Any]:
    """``count`` closed-loop clients, each with its own connection (opened before the first request, so not
    timed), taking paths from ``queue`` until it is empty; the errors and empty answers they met."""
    tally: dict[str, Any] = {"errors": [], "empty": 0}
    connections = [_Connection(host, port, key) for _ in range(count)]
    await asyncio.gather(*(c.open() for c in connections))

    async def worker(connection: _Connection) -> None:
        while queue:
            path = queue.pop()
            started = time.perf_counter()
            try:
                status, body = await asyncio.wait_for(connection.get(path), timeout=60.0)
                if status != 200:
                    tally["errors"].append(f"{status} {path}: {body[:200].decode(errors='replace')}")
                elif marker is not None and marker.encode() in body:
                    tally["empty"] += 1
            except (TimeoutError, OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
                tally["errors"].append(f"{type(exc).__name__} {path}: {exc}")
                connection.close()
            if latencies is not None:
                latencies.append((time.perf_counter() - started) * 1000)

    try:
        await asyncio.gather(*(worker(c) for c in connections))
    finally:
        for connection in connections:
            connection.close()
    return tally


async def _drive(
    host: str, port: int, key: str, plans: dict[str, dict[str, dict[str, list[str]]]], server_pid: int
) -> dict[str, dict[str, dict[str, Any]]]:
    """Each route in turn, each shape of it in turn: its warm-up requests by ``CLIENTS`` clients, its timed ones
    by ``CLIENTS`` clients, then its ``alone`` ones by one client alone (``plans[shape][route][phase]``)."""
    results: dict[str, dict[str, dict[str, Any]]] = {shape: {} for shape in SHAPES}
    for route in ROUTES:
        for shape in SHAPES:
            if route not in plans[shape]:
                continue
            plan, marker = plans[shape][route], EMPTY_MARKERS.get(route) if shape == "distinct" else None
            timed = plan["timed"]
            warm_started = time.perf_counter()
            warm = await _clients(host, port, key, list(reversed(plan["warm_up"])), CLIENTS, marker, None)
            warm_seconds = time.perf_counter() - warm_started
            latencies: list[float] = []
            queue = list(reversed(timed))
            cpu_before, client_before = _cpu_seconds(server_pid), time.process_time()
            started = time.perf_counter()
            tally = await _clients(host, port, key, queue, CLIENTS, marker, latencies)
            wall = time.perf_counter() - started
            cpu, client_cpu = _cpu_seconds(server_pid) - cpu_before, time.process_time() - client_before
            # one client alone: the service time of a request, without queueing behind the 49 others
            alone: list[float] = []
            single = await _clients(host, port, key, list(reversed(plan["alone"])), 1, marker, alone)
            errors = tally["errors"] + single["errors"]
            results[shape][route] = {
                "requests": len(timed),
                "distinct_paths": len(set(timed)),
                "p50_ms": _percentile(latencies, 0.50),
                "p95_ms": _percentile(latencies, 0.95),
                "p99_ms": _percentile(latencies, 0.99),
                "max_ms": round(max(latencies), 2),
                "mean_ms": round(statistics.fmean(latencies), 2),
                "requests_per_second": round(len(timed) / wall, 1),
                "littles_law_mean_ms": round(CLIENTS / (len(timed) / wall) * 1000, 2),
                "seconds": round(wall, 2),
                "errors": len(errors),
                "warm_up_requests": len(plan["warm_up"]),
                "warm_up_errors": len(warm["errors"]),
                "warm_up_seconds": round(warm_seconds, 2),
                "error_examples": sorted(set(errors + warm["errors"]))[:5],
                "empty_answers": tally["empty"] + warm["empty"] + single["empty"] if marker is not None else None,
                "server_cpu_seconds": round(cpu, 2),
                "server_cpu_cores": round(cpu / wall, 2),
                "client_cpu_cores": round(client_cpu / wall, 2),
                "example_path": timed[0],
                "one_client_p50_ms": _percentile(alone, 0.50),
                "one_client_p99_ms": _percentile(alone, 0.99),
            }
    return results


def _conversations(rng: random.Random, hours: int, count: int) -> list[str]:
    """``count`` different conversation ids of the generated history (generate_landing's ``conv_{seed}_{h}_{n}``)."""
    return [f"conv_{SEED}_{i // RATE}_{i % RATE}" for i in rng.sample(range(hours * RATE), count)]


def _distinct(draw: Any, count: int) -> list[str]:
    """``count`` different paths from ``draw()`` (drawn until there are that many), in the order drawn."""
    seen: dict[str, None] = {}
    for _ in range(count * 100):
        seen[draw()] = None
        if len(seen) == count:
            return list(seen)
    raise RuntimeError(f"could not draw {count} different paths")


def _plans(
    base_catalog: dict[str, Any], rng: random.Random, hours: int, requests: int
) -> dict[str, dict[str, dict[str, list[str]]]]:
    """The paths of each shape and route by phase: ``warm_up``, ``timed`` (``requests``), ``alone``
    (``SINGLE_REQUESTS``). Polling cycles through small pools; distinct never repeats a path."""
    keys = sorted(m["key"] for m in base_catalog["metrics"] if m["has_values"]) or sorted(
        m["key"] for m in base_catalog["metrics"]
    )
    prefix = f"/v1/{WORKSPACE}/metrics"
    total = CLIENTS + requests + SINGLE_REQUESTS
    polling_calls = _conversations(rng, hours, POLLING_CALLS)
    pools = {
        "latest": [f"{prefix}/latest"],
        "values": [f"{prefix}/{k}?limit=90" for k in rng.sample(keys, len(keys))],
        "trend": [f"{prefix}/{k}/trend?days=30" for k in rng.sample(keys, len(keys))],
        "catalog": [f"{prefix}/catalog"],
        "get-metric": [f"/api/v1/call/get-metric?callId={c}" for c in polling_calls],
    }
    # polling: the warm-up asks every path of the pool once (at least one request per client), so the timed
    # requests find every answer kept, as a dashboard's steady state does
    polling = {
        route: {
            "warm_up": [pool[i % len(pool)] for i in range(max(CLIENTS, len(pool)))],
            "timed": [pool[i % len(pool)] for i in range(requests)],
            "alone": [pool[i % len(pool)] for i in range(SINGLE_REQUESTS)],
        }
        for route, pool in pools.items()
    }
    # the days the history covers (UTC), and a few before: ranges that overlap it, so answers have points
    last_day = (HISTORY_END - timedelta(hours=1)).date()
    first_day = (HISTORY_END - timedelta(hours=hours)).date()

    def values_path() -> str:
        date_from = (
            first_day
            - timedelta(days=rng.randrange(15))
            + timedelta(days=rng.randrange((last_day - first_day).days + 1))
        )
        date_from = min(date_from, last_day)
        date_to = max(date_from, first_day) + timedelta(days=rng.randrange(4 + (last_day - first_day).days))
        return f"{prefix}/{rng.choice(keys)}?date_from={date_from}&date_to={date_to}&limit={rng.randint(1, 365)}"

    distinct = {
        "latest": [f"{prefix}/latest?scope=entity&entity_id={c}" for c in _conversations(rng, hours, total)],
        "values": _distinct(values_path, total),
        "trend": _distinct(lambda: f"{prefix}/{rng.choice(keys)}/trend?days={rng.randint(1, 365)}", total),
        "get-metric": [f"/api/v1/call/get-metric?callId={c}" for c in _conversations(rng, hours, total)],
    }
    for route, paths in distinct.items():
        if len(set(paths)) != len(paths):
            raise RuntimeError(f"distinct {route}: repeated parameters")
    split = {
        route: {
            "warm_up": paths[:CLIENTS],
            "timed": paths[CLIENTS : CLIENTS + requests],
            "alone": paths[CLIENTS + requests :],
        }
        for route, paths in distinct.items()
    }
    return {"polling": polling, "distinct": split}


def run(quick: bool) -> dict[str, Any]:
    import httpx

    days = QUICK_DAYS if quick else DAYS
    requests = QUICK_REQUESTS if quick else REQUESTS
    with tempfile.TemporaryDirectory(prefix="metricstore-bench-api-") as folder:
        tmp = Path(folder)
        defs = builtin_defs(tmp)
        landing = tmp / "landing"
        history = generate_landing(landing, conversations_per_hour=RATE, hours=days * 24, end=HISTORY_END)
        warehouse, published = tmp / "warehouse.duckdb", tmp / "published" / "warehouse.duckdb"
        published.parent.mkdir()
        build = run_in_child(
            "bench.publishing:build_child",
            {
                "metric_defs": str(defs),
                "landing": str(landing),
                "warehouse": str(warehouse),
                "published": str(published),
                "start": (HISTORY_END - timedelta(days=days)).isoformat(),
                "end": HISTORY_END.isoformat(),
            },
        )
        shutil.rmtree(landing)  # the server reads the published file only
        env = dict(os.environ) | {
            "METRICSTORE_WAREHOUSE": str(warehouse),
            "METRICSTORE_PUBLISHED": str(published),
            "METRICSTORE_METRIC_DEFS": str(defs),
            "METRICSTORE_LANDING": str(landing),
            "METRICSTORE_API_KEYS": str(tmp / "api_keys.sqlite"),
        }
        key = json.loads(_cli(env, "keys", "create", "--workspace", WORKSPACE, "--role", "viewer", "--json"))["key"]
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        command = [sys.executable, "-m", "uvicorn", "--factory", "metricstore.api.app:create_app"]
        options = ["--host", "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning"]
        server = subprocess.Popen([*command, *options], env=env, cwd=REPO)
        try:
            _wait_until_up(base, server)
            catalog = httpx.get(
                f"{base}/v1/{WORKSPACE}/metrics/catalog", headers={"Authorization": f"Bearer {key}"}, timeout=60.0
            )
            catalog.raise_for_status()
            plans = _plans(catalog.json(), random.Random(7), days * 24, requests)
            started_cpu = time.process_time()
            shapes = asyncio.run(_drive("127.0.0.1", port, key, plans, server.pid))
            client_cpu = time.process_time() - started_cpu
            server_rss = _rss_bytes(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)
        first_values = plans["polling"]["values"]["timed"][0].split("/")[-1].split("?")[0]
        parts = run_in_child(
            "bench.api_latency:service_parts",
            {
                "settings": {
                    k: env[f"METRICSTORE_{k.upper()}"]
                    for k in ("warehouse", "landing", "metric_defs", "published", "api_keys")
                },
                "key": key,
                "metric_key": first_values,
                "call_id": plans["polling"]["get-metric"]["timed"][0].split("=")[-1],
                "repeats": 30,
            },
        )
    by_shape: dict[str, Any] = {}
    for shape, routes in shapes.items():
        worst_p99 = max(r["p99_ms"] for r in routes.values())
        errors = sum(r["errors"] + r["warm_up_errors"] for r in routes.values())
        by_shape[shape] = {
            "routes": routes,
            "errors": errors,
            "worst_p99_ms": worst_p99,
            "met": worst_p99 < TARGET_P99_MS and errors == 0,
            "requests_per_second_range": [
                min(r["requests_per_second"] for r in routes.values()),
                max(r["requests_per_second"] for r in routes.values()),
            ],
        }
    return {
        "warehouse": {
            "days": days,
            "conversations": history.conversations,
            "events": history.events,
            "metric_values": build["metric_values"],
            "build_total_seconds": build["total_seconds"],
            "publish_seconds": build["initial_publish"]["seconds"],
            "warehouse_bytes": build["warehouse_bytes"],
        },
        "clients": CLIENTS,
        "requests_per_route": requests,
        "shapes": by_shape,
        "not_distinct": NOT_DISTINCT,
        "service_parts_ms": parts["ms"],
        "errors": sum(s["errors"] for s in by_shape.values()),
        "client_cpu_seconds": round(client_cpu, 2),
        "server_rss_bytes": server_rss,
        "target_p99_ms": TARGET_P99_MS,
        "met": all(s["met"] for s in by_shape.values()),
        "load_average": list(os.getloadavg()),
        "cpus": os.cpu_count(),
    }


def service_parts(payload: dict[str, Any]) -> dict[str, Any]:
    """In a child, no server running: milliseconds (median of ``repeats``) of what a request does besides HTTP,
    called directly. The definitions are no longer loaded per request: every request asks ``CatalogCache`` for
    them, which lists and stats the folder's files and reloads only when one changed, so what is measured is
    ``CatalogCache.current()`` on an unchanged folder. Then checking the key, taking a connection to the
    published file, and each route's query function (what a request computes on a cache miss; ``latest entity``
    is the distinct shape's ``scope=entity`` for one conversation)."""
    from metricstore import query
    from metricstore.api.cache import CatalogCache
    from metricstore.api.context import PublishedReader
    from metricstore.api.keys import KeyStore
    from metricstore.config import Settings
    from metricstore.post_call import post_call_record

    settings = Settings(**{k: Path(v) for k, v in payload["settings"].items()})
    keys, reader = KeyStore(settings.api_keys), PublishedReader(settings)
    catalogs = CatalogCache(settings.metric_defs)
    catalog = catalogs.current()  # loaded once: every later call finds the folder unchanged
    metric, call = payload["metric_key"], payload["call_id"]

    def with_connection(ask: Any) -> Any:
        def call_it() -> None:
            with reader.connect() as conn:
                ask(conn)

        return call_it

    parts = {
        "catalog_cache_current": catalogs.current,
        "authenticate_key": lambda: keys.authenticate(payload["key"]),
        "connect_published": with_connection(lambda conn: None),
        "query latest": with_connection(lambda conn: query.latest(conn, catalog, WORKSPACE)),
        "query latest entity": with_connection(
            lambda conn: query.latest(conn, catalog, WORKSPACE, scope="entity", entity_id=call)
        ),
        "query values": with_connection(lambda conn: query.values(conn, catalog, WORKSPACE, metric, limit=90)),
        "query trend": with_connection(lambda conn: query.trend(conn, catalog, WORKSPACE, metric, days=30)),
        "query catalog": with_connection(lambda conn: query.catalog_entries(conn, catalog, WORKSPACE)),
        "query get-metric": with_connection(lambda conn: post_call_record(conn, catalog, WORKSPACE, call_id=call)),
    }
    timings: dict[str, float] = {}
    for name, part in parts.items():
        part()  # warm
        spent = []
        for _ in range(payload["repeats"]):
            started = time.perf_counter()
            part()
            spent.append((time.perf_counter() - started) * 1000)
        timings[name] = round(statistics.median(spent), 2)
    reader.close()
    return {"ms": timings}


def _rss_bytes(pid: int) -> int | None:
    for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return None


def summary(result: dict[str, Any]) -> str:
    w, clients = result["warehouse"], result["clients"]
    lines = [
        f"Published warehouse: {w['days']} days, {w['conversations']:,} conversations, {w['events']:,} events, "
        f"**{w['metric_values']:,} metric values**. {clients} closed-loop clients (one keep-alive connection each), "
        f"{result['requests_per_route']:,} requests per route and shape after a warm-up; uvicorn, one process; "
        "the API caches answers per (route, parameters) while the snapshot and the definitions are unchanged.",
        "",
    ]
    titles = {
        "polling": "**polling** (dashboards: small pools of parameters, cache hits after the first answer)",
        "distinct": "**distinct** (every request's parameters new: every answer computed)",
    }
    shapes = {shape: result["shapes"][shape] for shape in SHAPES if shape in result["shapes"]}
    for shape, s in shapes.items():
        lines += [
            titles.get(shape, shape),
            "",
            "| route | p50 | p95 | p99 | requests/s | errors | empty answers | server CPU (cores) "
            "| one client alone: p50 / p99 |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for route in (route for route in ROUTES if route in s["routes"]):
            r = s["routes"][route]
            empty = "—" if r.get("empty_answers") is None else str(r["empty_answers"])
            lines.append(
                f"| {route} | {r['p50_ms']:.1f} ms | {r['p95_ms']:.1f} ms | {r['p99_ms']:.1f} ms | "
                f"{r['requests_per_second']:.0f} | {r['errors'] + r['warm_up_errors']} | {empty} | "
                f"{r['server_cpu_cores']} | {r['one_client_p50_ms']:.1f} / {r['one_client_p99_ms']:.1f} ms |"
            )
        if shape == "distinct":
            for route, why in result.get("not_distinct", {}).items():
                lines.append(f"| {route} | — | — | — | — | — | — | — | not measured: {why} |")
        low, high = s["requests_per_second_range"]
        lines += [
            "",
            f"- {shape}: p99 < {result['target_p99_ms']:g} ms on every route, no errors: "
            f"{'**met**' if s['met'] else '**not met**'} (worst p99 {s['worst_p99_ms']:.1f} ms, "
            f"{s['errors']} errors); throughput {low:.0f}–{high:.0f} requests/s",
            "",
        ]
    reached = "; ".join(
        f"{shape} reached {s['requests_per_second_range'][0]:.0f}–{s['requests_per_second_range'][1]:.0f} "
        f"requests/s, i.e. ≈ {clients / s['requests_per_second_range'][1] * 1000:.0f}–"
        f"{clients / s['requests_per_second_range'][0] * 1000:.0f} ms"
        for shape, s in shapes.items()
    )
    lines += [
        f"- Little's law: in a closed loop of {clients} clients, mean latency ≈ clients / throughput, so a p99 "
        f"under {result['target_p99_ms']:g} ms needs well over {clients / result['target_p99_ms'] * 1000:,.0f} "
        f"requests/s; {reached} of mean latency.",
        "- what a request does besides HTTP, called directly with no server running (median ms; the definitions "
        "are `CatalogCache.current()` on an unchanged folder, the queries are what a cache miss computes): "
        + ", ".join(f"{k} {v}" for k, v in result["service_parts_ms"].items()),
        f"- the load client's own CPU: {result['client_cpu_seconds']} s (same machine, {result['cpus']} CPUs; "
        f"load average at the end {[round(x, 2) for x in result['load_average']]})",
    ]
    return "\n".join(lines)
