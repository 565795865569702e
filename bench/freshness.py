"""Fresh within minutes (python -m bench freshness [--quick]): calls landing one file each, about one a second,
picked up by the landing files sensor under the Dagster daemon; how long until each is readable and until its
post-call webhook arrives, what the arrival runs cost, and whether the tables end as one run would leave them.

* **Set-up**, in a temp folder as a user has it (the ``METRICSTORE_*`` paths and ``DAGSTER_HOME`` there, no
  ``ANTHROPIC_*`` variable, so the free tier only): ``metricstore demo --hours DEMO_HOURS``; then ``ws_demo``'s
  ``workspace.yaml`` gets ``ai_cadence: on_arrival`` and a webhook to ``metricstore webhooks listen`` (started as
  its own process; each verified delivery is one line, timed when the line is read), and ``dagster-daemon run``
  starts (the sensor every 10 s, the run queue, one run at a time).
* **Landing**: ``CALLS`` (600; ``--quick``: 120) calls, one file each, one every ``INTERVAL`` (1 s): a demo snapshot
  of an ended call with a new id, ``occurred_at`` and ``endTime`` = now, written under a hidden name and renamed
  into ``call_intelligence/live/`` (the documented convention). Its landing time is the rename.
* **Readable**: a poller opens the published warehouse (what ``metricstore query`` and the API read) every 0.5 s
  and notes when each call's values first appear. **Webhook**: when the receiver prints the call's delivery.
  After the last call, up to ``DRAIN_SECONDS`` for the rest.
* **Cost**: the runs the sensor requested (start, end, from the instance) and the CPU of the daemon's whole
  process tree (the sensor's ticks, the code server, every run), from ``getrusage(RUSAGE_CHILDREN)`` once it has
  exited, as a share of the machine (wall × cores).
* **Idempotence**: the hourly run of every hour the calls landed in (``metricstore run --partition``), then the
  same landing folder in a new warehouse, run once (``metricstore run --from --to``): the static values and the
  aggregates of static metrics must be equal; AI values are compared where both evaluated the call (the budget of
  500 per metric per clock hour decides which calls were evaluated on arrival, so their number may differ).
"""

from __future__ import annotations

import gzip
import json
import os
import random
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import yaml

from bench.generate import REPO

CALLS = 600
QUICK_CALLS = 120
INTERVAL = 1.0
DEMO_HOURS = 24
QUICK_DEMO_HOURS = 4
DRAIN_SECONDS = 240
PORT = 8797
PREFIX = "fresh_"


def run(quick: bool = False) -> dict[str, Any]:
    calls = QUICK_CALLS if quick else CALLS
    with tempfile.TemporaryDirectory(prefix="metricstore-bench-fresh-") as tmp:
        folder = Path(tmp)
        env = bench_env(folder)
        bin_dir = Path(sys.executable).parent
        demo = subprocess.run(
            [bin_dir / "metricstore", "demo", "--hours", str(QUICK_DEMO_HOURS if quick else DEMO_HOURS)],
            cwd=REPO, env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        defs = folder / "metric_defs"
        shutil.copytree(REPO / "metric_defs", defs)
        env["METRICSTORE_METRIC_DEFS"] = str(defs)
        secret = subprocess.run(
            [bin_dir / "metricstore", "webhooks", "secret"], env=env, capture_output=True, text=True, check=True
        ).stdout.strip()
        workspace_yaml = defs / "workspaces" / "ws_demo" / "workspace.yaml"
        settings = yaml.safe_load(workspace_yaml.read_text()) or {}
        settings["ai_cadence"] = "on_arrival"
        settings["webhook"] = {
            "url": f"http://127.0.0.1:{PORT}/",
            "secret": secret,
            "allow_private_addresses": True,
        }
        workspace_yaml.write_text(yaml.safe_dump(settings))
        templates = call_templates(folder / "data" / "landing", Path(env["METRICSTORE_WAREHOUSE"]))
        landing = folder / "data" / "landing" / "call_intelligence" / "live"
        landing.mkdir(parents=True)

        delivered: dict[str, float] = {}
        listener = subprocess.Popen(
            [bin_dir / "metricstore", "webhooks", "listen", "--port", str(PORT), "--workspace", "ws_demo"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        threading.Thread(target=_read_deliveries, args=(listener, delivered), daemon=True).start()
        usage_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        daemon = subprocess.Popen(
            [bin_dir / "dagster-daemon", "run", "-w", str(REPO / "workspace.yaml")],
            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        time.sleep(20)  # the daemon up, and the sensor's first look (the demo's files: nothing new)

        landed: dict[str, float] = {}
        readable: dict[str, float] = {}
        stop = threading.Event()
        poller = threading.Thread(
            target=poll_readable, args=(folder / "data" / "published" / "warehouse.duckdb", readable, stop)
        )
        poller.start()
        rng = random.Random(20261202)
        started = time.perf_counter()
        wall_started = time.time()
        for i in range(calls):
            due = started + i * INTERVAL
            time.sleep(max(0.0, due - time.perf_counter()))
            conversation = f"{PREFIX}{i:05d}"
            land_call(landing, conversation, rng.choice(templates))
            landed[conversation] = time.perf_counter()
        landing_seconds = time.perf_counter() - started
        deadline = time.perf_counter() + DRAIN_SECONDS
        while time.perf_counter() < deadline and (len(readable) < calls or len(delivered) < calls):
            time.sleep(1)
        stop.set()
        poller.join()
        wall_ended = time.time()
        stop_daemon(daemon)
        usage_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        listener.terminate()
        listener.wait(10)
        bench_seconds = wall_ended - wall_started
        runs = _runs(env, wall_started)
        cpu = (usage_after.ru_utime - usage_before.ru_utime) + (usage_after.ru_stime - usage_before.ru_stime)
        equal = _idempotence(folder, env, bin_dir, runs)
        readable_s = sorted(readable[c] - landed[c] for c in readable if c in landed)
        webhook_s = sorted(delivered[c] - landed[c] for c in delivered if c in landed)
        return {
            "calls": calls,
            "interval_seconds": INTERVAL,
            "demo_hours": QUICK_DEMO_HOURS if quick else DEMO_HOURS,
            "demo_summary": [line.strip() for line in demo.stdout.strip().splitlines()[-12:]],
            "landing_seconds": round(landing_seconds, 1),
            "bench_seconds": round(bench_seconds, 1),
            "readable": latency_stats(readable_s, calls),
            "webhook": latency_stats(webhook_s, calls),
            "runs": runs,
            "daemon_tree_cpu_seconds": round(cpu, 1),
            "cpu_share_of_machine": round(cpu / (bench_seconds * (os.cpu_count() or 1)), 3),
            "cores": os.cpu_count(),
            "idempotence": equal,
            "load_average_end": [round(x, 2) for x in os.getloadavg()],
        }


def stop_daemon(daemon: subprocess.Popen[bytes]) -> None:
    """Stop ``dagster-daemon`` and what it started (its own session): politely, then after a minute not."""
    os.killpg(daemon.pid, signal.SIGTERM)
    try:
        daemon.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(daemon.pid, signal.SIGKILL)
        daemon.wait()


def bench_env(folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "METRICSTORE_"))}
    env |= {
        "METRICSTORE_WAREHOUSE": str(folder / "data" / "warehouse.duckdb"),
        "METRICSTORE_LANDING": str(folder / "data" / "landing"),
        "DAGSTER_HOME": str(folder / "dagster"),
    }
    return env


def call_templates(landing: Path, warehouse: Path) -> list[dict[str, Any]]:
    """Snapshots of ended demo calls that ingestion accepted (the demo lands some broken lines on purpose, and a
    copy of one would be quarantined, not measured), to land again under new ids."""
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        accepted = {r[0] for r in conn.execute("SELECT event_id FROM raw.events").fetchall()}
    found = []
    for path in sorted((landing / "call_intelligence").rglob("*.jsonl*")):
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as lines:
            for line in lines:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                data = event.get("data") if isinstance(event, dict) else None
                if (
                    isinstance(data, dict)
                    and data.get("endTime")
                    and event.get("workspace_id") == "ws_demo"
                    and event.get("event_id") in accepted
                ):
                    found.append(event)
        if len(found) >= 200:
            break
    return found


def land_call(folder: Path, conversation: str, template: dict[str, Any]) -> None:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    event = json.loads(json.dumps(template))
    event["event_id"] = f"evt_{conversation}"
    event["occurred_at"] = now
    event["data"] |= {"id": conversation, "endTime": now}
    event["data"].pop("snapshot_version", None)
    hidden, final = folder / f".{conversation}.jsonl", folder / f"{conversation}.jsonl"
    hidden.write_text(json.dumps(event) + "\n", encoding="utf-8")
    hidden.rename(final)


def _read_deliveries(listener: subprocess.Popen[str], delivered: dict[str, float]) -> None:
    assert listener.stdout is not None
    for line in listener.stdout:
        for part in line.split():
            if part.startswith(f"call={PREFIX}") and line.rstrip().endswith("verified"):
                delivered.setdefault(part.removeprefix("call="), time.perf_counter())


def poll_readable(published: Path, readable: dict[str, float], stop: threading.Event) -> None:
    while not stop.is_set():
        if published.is_file():
            try:
                with duckdb.connect(str(published), read_only=True) as conn:
                    rows = conn.execute(
                        "SELECT DISTINCT entity_id FROM metrics.metric_values WHERE entity_id LIKE ?", [f"{PREFIX}%"]
                    ).fetchall()
            except duckdb.Error:
                rows = []
            seen = time.perf_counter()
            for (conversation,) in rows:
                readable.setdefault(conversation, seen)
        stop.wait(0.5)


def _runs(env: dict[str, str], since: float) -> dict[str, Any]:
    """The runs the sensor requested, from the instance: how many, how long, how much of the time one ran."""
    code = (
        "import json, sys\n"
        "from dagster import DagsterInstance, RunsFilter\n"
        "with DagsterInstance.get() as i:\n"
        "    rs = i.get_run_records(RunsFilter(job_name='hourly_metrics', tags={'metricstore/arrival': 'true'}))\n"
        "    print(json.dumps([[r.start_time, r.end_time, r.dagster_run.status.value] for r in rs]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    records = [r for r in json.loads(out.stdout) if r[0] and r[0] >= since]
    lengths = sorted(end - start for start, end, _ in records if end)
    return {
        "arrival_runs": len(records),
        "succeeded": sum(1 for *_, status in records if status == "SUCCESS"),
        "statuses": dict(Counter(status for *_, status in records)),
        "run_seconds_p50": round(statistics.median(lengths), 1) if lengths else None,
        "run_seconds_max": round(max(lengths), 1) if lengths else None,
        "busy_seconds": round(sum(lengths), 1),
        "first_start": min((r[0] for r in records), default=None),
        "last_end": max((r[1] for r in records if r[1]), default=None),
    }


def event_hours(warehouse: Path) -> list[str]:
    """The partition keys of the hours the warehouse holds events of."""
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        rows = conn.execute(
            "SELECT DISTINCT strftime(date_trunc('hour', occurred_at), '%Y-%m-%d-%H:00') FROM raw.events ORDER BY 1"
        ).fetchall()
    return [r[0] for r in rows]


def _idempotence(folder: Path, env: dict[str, str], bin_dir: Path, runs: dict[str, Any]) -> dict[str, Any]:
    """The hourly run of the live hours, then one run of everything in a new warehouse: the same tables?"""
    warehouse = Path(env["METRICSTORE_WAREHOUSE"])
    hours = event_hours(warehouse)
    live = [h for h in hours if h >= datetime.fromtimestamp(runs["first_start"] or 0, UTC).strftime("%Y-%m-%d-%H:00")]
    for key in live:
        subprocess.run([bin_dir / "metricstore", "run", "--partition", key], env=env, check=True, capture_output=True)
    once_env = env | {
        "METRICSTORE_WAREHOUSE": str(folder / "once" / "warehouse.duckdb"),
        "DAGSTER_HOME": str(folder / "once" / "dagster"),
        "METRICSTORE_PARTITIONS_START": hours[0],
    }
    subprocess.run(
        [bin_dir / "metricstore", "run", "--from", hours[0], "--to", hours[-1]],
        env=once_env, check=True, capture_output=True,
    )  # fmt: skip
    return _compare(warehouse, Path(once_env["METRICSTORE_WAREHOUSE"])) | {"hours": len(hours), "live_hours": live}


def _compare(arrivals: Path, once: Path) -> dict[str, Any]:
    static = "SELECT v.* EXCLUDE (evaluated_at) FROM {db}.metrics.metric_values v WHERE v.model IS NULL ORDER BY ALL"
    with duckdb.connect() as conn:
        conn.execute(f"ATTACH '{arrivals}' AS a (READ_ONLY)")
        conn.execute(f"ATTACH '{once}' AS o (READ_ONLY)")
        static_equal = conn.execute(static.format(db="a")).fetchall() == conn.execute(static.format(db="o")).fetchall()
        aggregates = (
            "SELECT * EXCLUDE (computed_at) FROM {db}.metrics.metric_aggregates WHERE metric_key IN "
            "(SELECT DISTINCT metric_key FROM a.metrics.metric_values WHERE model IS NULL) ORDER BY ALL"
        )
        aggregates_equal = (
            conn.execute(aggregates.format(db="a")).fetchall() == conn.execute(aggregates.format(db="o")).fetchall()
        )
        ai = conn.execute(
            "SELECT count(*), count(*) FILTER (x.value_text IS NOT DISTINCT FROM y.value_text "
            "AND x.value_num IS NOT DISTINCT FROM y.value_num AND x.value_bool IS NOT DISTINCT FROM y.value_bool "
            "AND x.value_list IS NOT DISTINCT FROM y.value_list AND x.status = y.status) "
            "FROM a.metrics.metric_values x JOIN o.metrics.metric_values y "
            "USING (workspace_id, metric_key, entity_type, entity_id, definition_version) WHERE x.model IS NOT NULL"
        ).fetchone()
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM a.metrics.metric_values WHERE model IS NOT NULL), "
            "(SELECT count(*) FROM o.metrics.metric_values WHERE model IS NOT NULL)"
        ).fetchone()
    assert ai is not None and counts is not None
    return {
        "static_values_equal": static_equal,
        "static_aggregates_equal": aggregates_equal,
        "ai_values_in_both": ai[0],
        "ai_values_equal": ai[1],
        "ai_values_arrivals": counts[0],
        "ai_values_one_run": counts[1],
    }


def latency_stats(seconds: list[float], calls: int) -> dict[str, Any]:
    def q(p: float) -> float | None:
        return round(seconds[min(len(seconds) - 1, int(p * len(seconds)))], 1) if seconds else None

    return {"seen": len(seconds), "of": calls, "p50_s": q(0.5), "p95_s": q(0.95), "max_s": q(1.0)}


def summary(result: dict[str, Any]) -> str:
    r, w, runs, eq = result["readable"], result["webhook"], result["runs"], result["idempotence"]
    return "\n".join(
        [
            f"{result['calls']} calls landed one file each, one every {result['interval_seconds']:.0f} s "
            f"({result['landing_seconds']} s), into `metricstore demo --hours {result['demo_hours']}` with "
            "`ws_demo` on `ai_cadence: on_arrival` (free tier only), `dagster-daemon run` driving "
            "`landing_files_sensor`, `metricstore webhooks listen` receiving.",
            "",
            "| from landing to | seen | p50 | p95 | max |",
            "|---|---|---|---|---|",
            f"| readable in the published warehouse (`metricstore query`, the API) | {r['seen']} of {r['of']} | "
            f"{r['p50_s']} s | **{r['p95_s']} s** | {r['max_s']} s |",
            f"| its post-call webhook at the receiver | {w['seen']} of {w['of']} | {w['p50_s']} s | "
            f"**{w['p95_s']} s** | {w['max_s']} s |",
            "",
            f"- arrival runs: {runs['arrival_runs']} ({runs['statuses']}; one still running when the daemon is "
            f"stopped ends as such), p50 {runs['run_seconds_p50']} s, "
            f"max {runs['run_seconds_max']} s, busy {runs['busy_seconds']} s of {result['bench_seconds']} s",
            f"- CPU of the daemon's process tree (sensor, code server, runs): {result['daemon_tree_cpu_seconds']} s, "
            f"**{result['cpu_share_of_machine']:.0%}** of the machine ({result['cores']} cores) over the run",
            f"- then the hourly run of the live hours and one run of everything in a new warehouse: static values "
            f"equal **{eq['static_values_equal']}**, their aggregates equal **{eq['static_aggregates_equal']}**; "
            f"AI values {eq['ai_values_arrivals']} (arrivals) vs {eq['ai_values_one_run']} (one run), "
            f"{eq['ai_values_equal']} of {eq['ai_values_in_both']} evaluated in both equal",
            f"- load average at the end: {result['load_average_end']}",
        ]
    )
