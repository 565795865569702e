"""What Dagster costs: the ``hourly_metrics`` job for one hour (``execute_in_process``, ephemeral instance,
in-process executor) against the same work called directly, on the same landing data.

* **Data**: one hour of ``generate_landing`` (``CONVERSATIONS`` conversations, one side event each), the 42
  built-ins only (a ``metric_defs`` copy of ``builtin/``), no ``ANTHROPIC_API_KEY`` in the children's
  environment, so the AI asset finds nothing to evaluate.
* **Direct**: ``load_catalog`` + ``connect`` + ``write_catalog_table`` + ingest + extract + aggregate + close,
  which the job's assets do too (``stages_seconds`` is the three stages alone).
* **Dagster**: ``DagsterInstance.ephemeral()`` + ``execute_in_process(partition_key=…)`` with a
  ``MetricStoreResource`` on a fresh warehouse, console logs at WARNING as ``orchestration/runner.py`` sets them.
  ``import_seconds`` (importing ``orchestration.definitions``, once per process) is reported apart.
* Each repetition is a fresh child process per side, a fresh warehouse each; ``REPEATS`` interleaved, medians.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench.generate import builtin_defs, generate_landing, pipeline_steps, run_in_child, time_steps

CONVERSATIONS = 5_000
QUICK_CONVERSATIONS = 1_000
HOUR_END = datetime(2026, 3, 2, 12)
REPEATS = 3


def direct_child(payload: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    from metricstore.catalog import write_catalog_table
    from metricstore.catalog_loader import load_catalog
    from metricstore.warehouse import connect
    from metricstore.windows import window_for_partition

    import_seconds = time.perf_counter() - started
    started = time.perf_counter()
    window = window_for_partition(payload["partition"])
    catalog = load_catalog(Path(payload["metric_defs"]))
    conn = connect(Path(payload["warehouse"]))
    write_catalog_table(conn, catalog)
    stages, results = time_steps(pipeline_steps(conn, catalog, Path(payload["landing"]), window))
    ingested, extracted, aggregated = results["ingest"], results["extract"], results["aggregate"]
    conn.close()
    return {
        "import_seconds": round(import_seconds, 3),
        "seconds": round(time.perf_counter() - started, 3),
        "stages_seconds": {k: round(v, 3) for k, v in stages.items()},
        "events_ingested": ingested.events_ingested,
        "values_written": extracted.values_written,
        "aggregate_rows_written": aggregated.rows_written,
    }


def dagster_child(payload: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    from dagster import DagsterInstance

    from assets.resources import MetricStoreResource
    from orchestration.definitions import defs

    job = defs.resolve_job_def("hourly_metrics")
    import_seconds = time.perf_counter() - started
    started = time.perf_counter()
    resource = MetricStoreResource(
        warehouse=payload["warehouse"], landing=payload["landing"], metric_defs=payload["metric_defs"]
    )
    with DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(
            instance=instance,
            partition_key=payload["partition"],
            resources={"metricstore": resource},
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
            raise_on_error=False,
        )
        seconds = time.perf_counter() - started
        logs = instance.all_logs(result.run_id)
    if not result.success:
        failure = next((e for e in result.all_events if e.is_step_failure), None)
        raise RuntimeError(f"the hourly job failed: {failure.message if failure else 'no step failure event'}")
    starts: dict[str, float] = {}
    steps: dict[str, float] = {}
    for entry in logs:
        event = entry.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.event_type_value == "STEP_START":
            starts[event.step_key] = entry.timestamp
        elif event.event_type_value == "STEP_SUCCESS" and event.step_key in starts:
            steps[event.step_key] = round(entry.timestamp - starts[event.step_key], 3)
    run_span = [e.timestamp for e in logs]
    metadata = {
        m.step_materialization_data.materialization.asset_key.to_user_string(): {
            k: getattr(v, "value", v)
            for k, v in m.step_materialization_data.materialization.metadata.items()
            if isinstance(getattr(v, "value", None), int | float)
        }
        for m in result.get_asset_materialization_events()
    }
    return {
        "import_seconds": round(import_seconds, 3),
        "seconds": round(seconds, 3),
        "steps_seconds": steps,
        "steps_total_seconds": round(sum(steps.values()), 3),
        "event_log_span_seconds": round(max(run_span) - min(run_span), 3) if run_span else None,
        "event_log_entries": len(logs),
        "events_ingested": metadata.get("raw/events", {}).get("events_ingested"),
        "values_written": metadata.get("metrics/metric_values", {}).get("values_written"),
        "aggregate_rows_written": metadata.get("metrics/metric_aggregates", {}).get("aggregate_rows_written"),
    }


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def run(quick: bool) -> dict[str, Any]:
    conversations = QUICK_CONVERSATIONS if quick else CONVERSATIONS
    hour_start = HOUR_END - timedelta(hours=1)
    partition = hour_start.strftime("%Y-%m-%d-%H:%M")
    env = {k: v for k, v in os.environ.items() if k != "ANTHROPIC_API_KEY"}
    direct: list[dict[str, Any]] = []
    dagster: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="metricstore-bench-orchestration-") as folder:
        tmp = Path(folder)
        env["DAGSTER_HOME"] = str(tmp / "dagster_home")  # never the repository's .dagster
        Path(env["DAGSTER_HOME"]).mkdir()
        defs = builtin_defs(tmp)
        landing = generate_landing(tmp / "landing", conversations_per_hour=conversations, hours=1, end=HOUR_END)
        common = {"landing": str(tmp / "landing"), "metric_defs": str(defs), "partition": partition}
        for i in range(REPEATS):
            direct.append(
                run_in_child(
                    "bench.orchestration:direct_child", {**common, "warehouse": str(tmp / f"d{i}.duckdb")}, env=env
                )
            )
            dagster.append(
                run_in_child(
                    "bench.orchestration:dagster_child", {**common, "warehouse": str(tmp / f"g{i}.duckdb")}, env=env
                )
            )
    direct_s = _median([r["seconds"] for r in direct])
    dagster_s = _median([r["seconds"] for r in dagster])
    steps = sorted({k for r in dagster for k in r["steps_seconds"]})
    return {
        "partition": partition,
        "conversations": conversations,
        "events": landing.events,
        "landing_bytes": landing.bytes_written,
        "repeats": REPEATS,
        "direct": {
            "median_seconds": direct_s,
            "median_stages_seconds": {
                s: _median([r["stages_seconds"][s] for r in direct]) for s in ("ingest", "extract", "aggregate")
            },
            "median_import_seconds": _median([r["import_seconds"] for r in direct]),
            "runs": direct,
        },
        "dagster": {
            "median_seconds": dagster_s,
            "median_steps_seconds": {s: _median([r["steps_seconds"].get(s, 0.0) for r in dagster]) for s in steps},
            "median_import_seconds": _median([r["import_seconds"] for r in dagster]),
            "runs": dagster,
        },
        "load_average_max": max(max(r["load_average"]) for r in direct + dagster),
        "cpus": os.cpu_count(),
        "ratio": round(dagster_s / direct_s, 2),
        "overhead_seconds": round(dagster_s - direct_s, 3),
        "same_work": all(
            (r["events_ingested"], r["values_written"], r["aggregate_rows_written"])
            == (direct[0]["events_ingested"], direct[0]["values_written"], direct[0]["aggregate_rows_written"])
            for r in direct + dagster
        ),
    }


def summary(result: dict[str, Any]) -> str:
    d, g = result["direct"], result["dagster"]
    stages = ", ".join(f"{k} {d['median_stages_seconds'][k]:.2f} s" for k in ("ingest", "extract", "aggregate"))
    order = ("raw__events", "metrics__metric_values", "metrics__ai_metric_values", "metrics__metric_aggregates")
    steps = ", ".join(
        f"{k} {v:.2f} s"
        for k, v in sorted(
            g["median_steps_seconds"].items(),
            key=lambda kv: (kv[0] not in order, order.index(kv[0]) if kv[0] in order else 0, kv[0]),
        )
    )
    return "\n".join(
        [
            f"One hour ({result['partition']}), {result['conversations']:,} conversations + 1 side event each = "
            f"{result['events']:,} events; fresh warehouse per run, median of {result['repeats']}.",
            "",
            "| | seconds |",
            "|---|---|",
            f"| direct (catalog + connect + ingest/extract/aggregate) | {d['median_seconds']:.3f} |",
            f"| Dagster `execute_in_process` (ephemeral instance) | {g['median_seconds']:.3f} |",
            f"| overhead | {result['overhead_seconds']:.3f} ({result['ratio']}×) |",
            f"| import `orchestration.definitions` (once per process) | {g['median_import_seconds']:.3f} |",
            "",
            f"Direct stages: {stages}. Dagster steps (start → success): {steps}.",
            "",
            f"- same rows written both ways: {'yes' if result['same_work'] else '**no**'}",
            f"- Dagster overhead: {result['overhead_seconds']:.2f} s per hourly run ({result['ratio']}× the direct "
            "work); no target set",
            f"- machine: highest 1-minute load average seen around the runs {result.get('load_average_max')} "
            f"({result.get('cpus')} CPUs)",
        ]
    )
