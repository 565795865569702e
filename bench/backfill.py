"""A backfill from the UI beside fresh calls (python -m bench backfill [--quick]): what runs of one hour cost a
backfill in total time, and how long fresh calls wait behind it, against larger runs and one run of the range.

* **Set-up**: ``metricstore demo --hours DEMO_HOURS`` in a temp folder (free tier only, no ``ANTHROPIC_*``).
  For each setting of ``METRICSTORE_BACKFILL_HOURS_PER_RUN`` in SIZES (1, the default; 6; DEMO_HOURS, which makes
  the backfill one run as before), a copy of that folder (landing, warehouse, published snapshot, Dagster home), one
  ``metricstore run`` of its hours (which records the copy's landing paths), and ``dagster-daemon run`` on it (the
  landing files sensor, the backfill daemon, the run queue: one run at a time).
* **Backfill**: the one the UI's "Materialize" over the demo's hours requests
  (``orchestration.backfills.request_backfill``), every asset; the demo's hours are already in, so this is the
  backfill one launches after changing a definition or a workspace setting.
* **Fresh calls**: at FRESH_AT seconds after the backfill is requested, one ended call lands each (written under
  a hidden name and renamed, as in bench/freshness.py); readable = first seen in the published warehouse, polled
  every 0.5 s.
* **Total**: from the request to the end of the backfill's last run, from the instance's run records.
* **Same tables**: both settings must leave the same values (fresh calls aside) and the same hourly aggregates for
  the demo's hours.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import duckdb

from bench.freshness import (
    PREFIX,
    bench_env,
    call_templates,
    event_hours,
    land_call,
    latency_stats,
    poll_readable,
    stop_daemon,
)
from bench.generate import REPO

DEMO_HOURS = 24
QUICK_DEMO_HOURS = 6
# METRICSTORE_BACKFILL_HOURS_PER_RUN: 1 (the default), a middle size, and the whole range (one run, as before)
SIZES = (1, 6, 24)
QUICK_SIZES = (1, 3, 6)
FRESH_AT = (20.0, 50.0, 80.0, 110.0)
QUICK_FRESH_AT = (15.0,)
WAIT_SECONDS = 1800

# Runs in a child with the variant's environment: request the backfill, wait for it, print its runs.
_BACKFILL = """
import json, sys, time
from dagster import DagsterInstance, RunsFilter
from dagster._core.execution.backfill import BulkActionStatus
from orchestration.backfills import request_backfill
first, last, limit = sys.argv[1], sys.argv[2], float(sys.argv[3])
with DagsterInstance.get() as instance:
    backfill_id = request_backfill(instance, first, last)
    print(json.dumps({"requested": time.time()}), flush=True)
    deadline = time.time() + limit
    while time.time() < deadline:
        status = instance.get_backfill(backfill_id).status
        if status not in (BulkActionStatus.REQUESTED, BulkActionStatus.CANCELING):
            break
        time.sleep(1)
    records = instance.get_run_records(RunsFilter(tags={"dagster/backfill": backfill_id}))
    print(json.dumps({
        "status": status.value,
        "runs": [[r.start_time, r.end_time, r.dagster_run.status.value] for r in records],
    }), flush=True)
"""

_ARRIVAL_RUNS = """
import sys
from dagster import DagsterInstance, RunsFilter
with DagsterInstance.get() as instance:
    records = instance.get_run_records(RunsFilter(tags={"metricstore/arrival": "true"}))
    print(sum(1 for r in records if r.create_timestamp.timestamp() >= float(sys.argv[1])))
"""


def run(quick: bool = False) -> dict[str, Any]:
    hours = QUICK_DEMO_HOURS if quick else DEMO_HOURS
    fresh_at = QUICK_FRESH_AT if quick else FRESH_AT
    bin_dir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory(prefix="metricstore-bench-backfill-") as tmp:
        demo_folder = Path(tmp) / "demo"
        env = bench_env(demo_folder)
        subprocess.run(
            [bin_dir / "metricstore", "demo", "--hours", str(hours)],
            cwd=REPO, env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        demo_hours = event_hours(Path(env["METRICSTORE_WAREHOUSE"]))
        templates = call_templates(demo_folder / "data" / "landing", Path(env["METRICSTORE_WAREHOUSE"]))
        sizes = QUICK_SIZES if quick else SIZES
        variants = {}
        for per_run in sizes:
            folder = Path(tmp) / f"per_run_{per_run}"
            shutil.copytree(demo_folder, folder)
            variants[str(per_run)] = _variant(folder, per_run, demo_hours, templates, fresh_at, bin_dir)
        whole = variants[str(sizes[-1])]["total_seconds"]
        for variant in variants.values():
            variant["total_ratio_to_one_run"] = round(variant["total_seconds"] / whole, 2)
        return {
            "demo_hours": hours,
            "backfill_hours": [demo_hours[0], demo_hours[-1]],
            "fresh_calls": len(fresh_at),
            "fresh_at_seconds": list(fresh_at),
            "hours_per_run": variants,
            "same_tables_as_one_run": {
                size: _same_tables(Path(tmp) / f"per_run_{size}", Path(tmp) / f"per_run_{sizes[-1]}", demo_hours)
                for size in variants
                if size != str(sizes[-1])
            },
            "load_average_end": [round(x, 2) for x in os.getloadavg()],
        }


def _variant(
    folder: Path,
    per_run: int,
    demo_hours: list[str],
    templates: list[dict[str, Any]],
    fresh_at: tuple[float, ...],
    bin_dir: Path,
) -> dict[str, Any]:
    env = bench_env(folder) | {"METRICSTORE_BACKFILL_HOURS_PER_RUN": str(per_run)}
    # the copy's landing files are new to its warehouse (their paths moved): one run takes them in, so the sensor
    # sees nothing new but the fresh calls
    subprocess.run(
        [bin_dir / "metricstore", "run", "--from", demo_hours[0], "--to", demo_hours[-1]],
        cwd=REPO, env=env, capture_output=True, check=True,
    )  # fmt: skip
    landing = folder / "data" / "landing" / "call_intelligence" / "live"
    landing.mkdir(parents=True, exist_ok=True)
    daemon = subprocess.Popen(
        [bin_dir / "dagster-daemon", "run", "-w", str(REPO / "workspace.yaml")],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    readable: dict[str, float] = {}
    landed: dict[str, float] = {}
    stop = threading.Event()
    poller = threading.Thread(
        target=poll_readable, args=(folder / "data" / "published" / "warehouse.duckdb", readable, stop)
    )
    try:
        time.sleep(20)  # the daemon up, the sensor's first look (the demo's files: nothing new)
        poller.start()
        child = subprocess.Popen(
            [sys.executable, "-c", _BACKFILL, demo_hours[0], demo_hours[-1], str(WAIT_SECONDS)],
            cwd=REPO, env=env, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert child.stdout is not None
        requested = json.loads(child.stdout.readline())["requested"]
        rng = random.Random(per_run)
        started = time.perf_counter() - (time.time() - requested)
        for i, at in enumerate(fresh_at):
            time.sleep(max(0.0, started + at - time.perf_counter()))
            conversation = f"{PREFIX}{i:05d}"
            land_call(landing, conversation, rng.choice(templates))
            landed[conversation] = time.perf_counter()
        ended = json.loads(child.stdout.readline())
        child.wait()
        deadline = time.perf_counter() + 300
        while len(readable) < len(fresh_at) and time.perf_counter() < deadline:
            time.sleep(0.5)
        arrival_runs = subprocess.run(
            [sys.executable, "-c", _ARRIVAL_RUNS, str(requested)],
            cwd=REPO, env=env, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
    finally:
        stop.set()
        if poller.is_alive():
            poller.join()
        stop_daemon(daemon)
    runs = ended["runs"]
    lengths = [end - start for start, end, _ in runs if start and end]
    waits = sorted(readable[c] - landed[c] for c in readable if c in landed)
    return {
        "status": ended["status"],
        "runs": len(runs),
        "run_statuses": sorted({status for *_, status in runs}),
        "run_seconds_p50": round(statistics.median(lengths), 1) if lengths else None,
        "run_seconds_max": round(max(lengths), 1) if lengths else None,
        "total_seconds": round(max((end for _, end, _ in runs if end), default=requested) - requested, 1),
        "arrival_runs": int(arrival_runs),
        "fresh_readable": latency_stats(waits, len(fresh_at)),
        "fresh_readable_seconds": [round(w, 1) for w in waits],
    }


def _same_tables(one: Path, whole: Path, demo_hours: list[str]) -> dict[str, bool]:
    values = "SELECT * EXCLUDE (evaluated_at) FROM {db}.metrics.metric_values WHERE entity_id NOT LIKE ? ORDER BY ALL"
    aggregates = (
        "SELECT * EXCLUDE (computed_at) FROM {db}.metrics.metric_aggregates WHERE granularity = 'hourly' "
        "AND strftime(period_start, '%Y-%m-%d-%H:00') BETWEEN ? AND ? ORDER BY ALL"
    )
    checks = {
        "values_equal": (values, [f"{PREFIX}%"]),
        "hourly_aggregates_equal": (aggregates, [demo_hours[0], demo_hours[-1]]),
    }
    with duckdb.connect() as conn:
        conn.execute(f"ATTACH '{one / 'data' / 'warehouse.duckdb'}' AS a (READ_ONLY)")
        conn.execute(f"ATTACH '{whole / 'data' / 'warehouse.duckdb'}' AS b (READ_ONLY)")
        return {
            name: conn.execute(sql.format(db="a"), args).fetchall() == conn.execute(sql.format(db="b"), args).fetchall()
            for name, (sql, args) in checks.items()
        }


def summary(result: dict[str, Any]) -> str:
    hours, variants = result["demo_hours"], result["hours_per_run"]
    rows = []
    for size, r in variants.items():
        f = r["fresh_readable"]
        label = (
            f"{size} (the default)" if size == "1" else f"{size} (one run, as before)" if int(size) == hours else size
        )
        rows.append(
            f"| {label} | {r['runs']} ({', '.join(r['run_statuses'])}) | {r['run_seconds_p50']} s | "
            f"**{r['total_seconds']} s** ({r['total_ratio_to_one_run']}×) | {r['arrival_runs']} | "
            f"{f['seen']} of {f['of']}: {', '.join(f'{w} s' for w in r['fresh_readable_seconds'])} |"
        )
    return "\n".join(
        [
            f"A backfill of the demo's {hours} hours ({result['backfill_hours'][0]} .. {result['backfill_hours'][1]}, "
            "already ingested: as after a definition change), requested as the UI requests it and run by "
            f"`dagster-daemon`, while {result['fresh_calls']} fresh calls land (one file each, at "
            f"{', '.join(f'{s:.0f}' for s in result['fresh_at_seconds'])} s).",
            "",
            "| `METRICSTORE_BACKFILL_HOURS_PER_RUN` | backfill runs | run p50 | total (× one run) | arrival runs | "
            "fresh calls readable after |",
            "|---|---|---|---|---|---|",
            *rows,
            "",
            f"- same values and hourly aggregates as one run: {result['same_tables_as_one_run']}",
            f"- load average at the end: {result['load_average_end']}",
        ]
    )
