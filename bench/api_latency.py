"""How fast does the HTTP API answer 50 clients at once, over a published warehouse of at least 1M metric values?

* **Warehouse**: ``generate_landing`` at ``RATE`` conversations an hour with one side event each, ``DAYS`` days
  (6: 43,200 conversations, about 1.2M metric values; ``--quick``: 1 day) ending at ``HISTORY_END``,
  materialized as one window through ``pipeline_steps`` and published (``publish``), in a child process
  (``bench.publishing:build_child``).
* **Server**: ``uvicorn --factory metricstore.api.app:create_app`` on 127.0.0.1 and a free port, one process,
  access log off, with METRICSTORE_WAREHOUSE / _PUBLISHED / _METRIC_DEFS / _API_KEYS pointing into the temp
  folder; a viewer key of the workspace made by ``metricstore keys create --json``.
* **Load**: ``CLIENTS`` (50) coroutines sharing one ``httpx.AsyncClient`` (a pool of 50 connections, keep-alive)
  in this process, one route after another: first one warm-up request per client (not counted), then
  ``REQUESTS`` requests of the route (``--quick``: ``QUICK_REQUESTS``) taken from a shared queue; each request's
  latency is ``perf_counter`` around ``client.get`` (so it includes waiting for a connection of the pool and
  this client's own CPU). Routes: latest (aggregates), values (``limit=90``), trend (``days=30``), catalog,
  get-metric (``callId`` of a conversation of the history); the metric keys and call ids are drawn with a fixed
  seed. An error is any answer but 200, or an exception. Per route: p50/p95/p99, requests/s, and the server's
  CPU (utime + stime of its process from /proc, over the route's wall time: 1.0 = one core busy). Then
  ``SINGLE_REQUESTS`` requests of the route by one client alone: the service time of a request without
  queueing. With 50 clients each sending its next request as soon as the last is answered, latency is about
  50 / throughput, so p99 < 50 ms at 50 clients asks for more than 1,000 requests/s.
* **Where a request's time goes**: with the server stopped, in a child process, the parts of a request called
  directly, median of 30 each: loading the definitions (as the API does for every request), checking the key,
  taking a connection to the published file, and each route's query function.
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
HISTORY_END = datetime(2026, 3, 2, 12)
WORKSPACE = "ws_bench"
CLIENTS = 50
REQUESTS = 1000  # per route, after the warm-up
QUICK_REQUESTS = 200
SINGLE_REQUESTS = 50  # per route, by one client alone
TARGET_P99_MS = 50.0
ROUTES = ("latest", "values", "trend", "catalog", "get-metric")


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


async def _drive(
    base: str, key: str, paths: dict[str, list[str]], requests: int, server_pid: int
) -> dict[str, dict[str, Any]]:
    """Each route in turn: a warm-up request per client, then ``requests`` timed ones by ``CLIENTS`` clients."""
    import httpx

    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    headers = {"Authorization": f"Bearer {key}"}
    results: dict[str, dict[str, Any]] = {}
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=60.0) as client:

        async def one(path: str, latencies: list[float] | None, errors: list[str]) -> None:
            started = time.perf_counter()
            try:
                response = await client.get(path)
                if response.status_code != 200:
                    errors.append(f"{response.status_code} {path}: {response.text[:200]}")
            except httpx.HTTPError as exc:
                errors.append(f"{type(exc).__name__} {path}: {exc}")
            if latencies is not None:
                latencies.append((time.perf_counter() - started) * 1000)

        async def clients(
            queue: list[str], latencies: list[float] | None, errors: list[str], count: int = CLIENTS
        ) -> None:
            async def worker() -> None:
                while queue:
                    await one(queue.pop(), latencies, errors)

            await asyncio.gather(*(worker() for _ in range(count)))

        for route in ROUTES:
            pool = paths[route]
            warm_errors: list[str] = []
            await clients([pool[i % len(pool)] for i in range(CLIENTS)], None, warm_errors)
            queue = [pool[i % len(pool)] for i in range(requests)]
            latencies: list[float] = []
            errors: list[str] = []
            cpu_before, started = _cpu_seconds(server_pid), time.perf_counter()
            await clients(queue, latencies, errors)
            wall = time.perf_counter() - started
            cpu = _cpu_seconds(server_pid) - cpu_before
            # one client alone: the service time of a request, without queueing behind the 49 others
            alone: list[float] = []
            await clients([pool[i % len(pool)] for i in range(SINGLE_REQUESTS)], alone, errors, count=1)
            results[route] = {
                "requests": requests,
                "p50_ms": _percentile(latencies, 0.50),
                "p95_ms": _percentile(latencies, 0.95),
                "p99_ms": _percentile(latencies, 0.99),
                "max_ms": round(max(latencies), 2),
                "mean_ms": round(statistics.fmean(latencies), 2),
                "requests_per_second": round(requests / wall, 1),
                "seconds": round(wall, 2),
                "errors": len(errors),
                "warm_up_errors": len(warm_errors),
                "error_examples": sorted(set(errors + warm_errors))[:5],
                "server_cpu_seconds": round(cpu, 2),
                "server_cpu_cores": round(cpu / wall, 2),
                "example_path": pool[0],
                "one_client_p50_ms": _percentile(alone, 0.50),
                "one_client_p99_ms": _percentile(alone, 0.99),
            }
    return results


def _paths(base_catalog: dict[str, Any], rng: random.Random, hours: int) -> dict[str, list[str]]:
    """The requests of each route: the catalog's metrics that have values, call ids of the history."""
    keys = sorted(m["key"] for m in base_catalog["metrics"] if m["has_values"]) or sorted(
        m["key"] for m in base_catalog["metrics"]
    )
    prefix = f"/v1/{WORKSPACE}/metrics"
    calls = [f"conv_42_{rng.randrange(hours)}_{rng.randrange(RATE)}" for _ in range(200)]
    return {
        "latest": [f"{prefix}/latest"],
        "values": [f"{prefix}/{k}?limit=90" for k in rng.sample(keys, len(keys))],
        "trend": [f"{prefix}/{k}/trend?days=30" for k in rng.sample(keys, len(keys))],
        "catalog": [f"{prefix}/catalog"],
        "get-metric": [f"/api/v1/call/get-metric?callId={c}" for c in calls],
    }


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
            paths = _paths(catalog.json(), random.Random(7), days * 24)
            started_cpu = time.process_time()
            routes = asyncio.run(_drive(base, key, paths, requests, server.pid))
            client_cpu = time.process_time() - started_cpu
            server_rss = _rss_bytes(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)
        first_values = paths["values"][0].split("/")[-1].split("?")[0]
        parts = run_in_child(
            "bench.api_latency:service_parts",
            {
                "settings": {
                    k: env[f"METRICSTORE_{k.upper()}"]
                    for k in ("warehouse", "landing", "metric_defs", "published", "api_keys")
                },
                "key": key,
                "metric_key": first_values,
                "call_id": paths["get-metric"][0].split("=")[-1],
                "repeats": 30,
            },
        )
    worst_p99 = max(r["p99_ms"] for r in routes.values())
    errors = sum(r["errors"] + r["warm_up_errors"] for r in routes.values())
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
        "routes": routes,
        "service_parts_ms": parts["ms"],
        "errors": errors,
        "worst_p99_ms": worst_p99,
        "client_cpu_seconds": round(client_cpu, 2),
        "server_rss_bytes": server_rss,
        "target_p99_ms": TARGET_P99_MS,
        "met": worst_p99 < TARGET_P99_MS and errors == 0,
        "load_average": list(os.getloadavg()),
        "cpus": os.cpu_count(),
    }


def service_parts(payload: dict[str, Any]) -> dict[str, Any]:
    """In a child, no server running: milliseconds (median of ``repeats``) of what a request does besides HTTP,
    called directly: load the definitions (the API's ``metric_catalog`` dependency, on every request), check
    the key, take a connection to the published file, and each route's query function."""
    from metricstore import query
    from metricstore.api.context import PublishedReader
    from metricstore.api.keys import KeyStore
    from metricstore.catalog_loader import load_catalog
    from metricstore.config import Settings
    from metricstore.post_call import post_call_record

    settings = Settings(**{k: Path(v) for k, v in payload["settings"].items()})
    keys, reader = KeyStore(settings.api_keys), PublishedReader(settings)
    catalog = load_catalog(settings.metric_defs)
    metric, call = payload["metric_key"], payload["call_id"]

    def with_connection(ask: Any) -> Any:
        def call_it() -> None:
            with reader.connect() as conn:
                ask(conn)

        return call_it

    parts = {
        "load_definitions": lambda: load_catalog(settings.metric_defs),
        "authenticate_key": lambda: keys.authenticate(payload["key"]),
        "connect_published": with_connection(lambda conn: None),
        "query latest": with_connection(lambda conn: query.latest(conn, catalog, WORKSPACE)),
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
    w = result["warehouse"]
    lines = [
        f"Published warehouse: {w['days']} days, {w['conversations']:,} conversations, {w['events']:,} events, "
        f"**{w['metric_values']:,} metric values**. {result['clients']} concurrent clients (httpx.AsyncClient, "
        f"keep-alive), {result['requests_per_route']:,} requests per route after a warm-up; uvicorn, one process.",
        "",
        "| route | p50 | p95 | p99 | requests/s | errors | server CPU (cores) | one client alone: p50 / p99 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for route, r in result["routes"].items():
        lines.append(
            f"| {route} | {r['p50_ms']:.1f} ms | {r['p95_ms']:.1f} ms | {r['p99_ms']:.1f} ms | "
            f"{r['requests_per_second']:.0f} | {r['errors'] + r['warm_up_errors']} | {r['server_cpu_cores']} | "
            f"{r['one_client_p50_ms']:.1f} / {r['one_client_p99_ms']:.1f} ms |"
        )
    lines += [
        "",
        f"- p99 < {result['target_p99_ms']:g} ms on every route, no errors: "
        f"{'**met**' if result['met'] else '**not met**'} (worst p99 {result['worst_p99_ms']:.1f} ms, "
        f"{result['errors']} errors)",
        "- what a request does besides HTTP, called directly with no server running (median ms): "
        + ", ".join(f"{k} {v}" for k, v in result["service_parts_ms"].items()),
        f"- the load client's own CPU: {result['client_cpu_seconds']} s (same machine, {result['cpus']} CPUs; "
        f"load average at the end {[round(x, 2) for x in result['load_average']]})",
    ]
    return "\n".join(lines)
