"""Does history slow the hourly run down? The next hour's run on a warehouse holding 30 days, against the same
run on an empty warehouse.

* **History**: ``generate_landing`` at ``RATE`` conversations an hour with one side event each (so all six
  sources), ``DAYS`` days (30; ``--quick``: 3) ending at ``HISTORY_END``, materialized as ONE window (ingest,
  extract, aggregate over the whole range, as a range backfill does), in a child process.
* **Next hour**: the hour after the history at the same rate (another seed, so new ids), written after the history
  was built, into the history's landing folder and (same bytes) into a landing folder of its own.
* **Measured**: ingest + extract + aggregate of that one hour, ``REPEATS`` times each way, interleaved, each in a
  fresh child process: on a copy of the history warehouse (landing = history + the hour), and on an empty
  warehouse (landing = the hour alone: an empty warehouse would otherwise read, and index, all the history's
  files). The connection and the catalog table are set up before the clock starts. Medians; ratio = history /
  empty. The hour starts at noon so that its daily roll-up has twelve earlier hours to read.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench.generate import builtin_defs, generate_landing, pipeline_steps, run_in_child, time_steps

DAYS = 30
QUICK_DAYS = 3
RATE = 300  # conversations an hour, each with one side event
HISTORY_END = datetime(2026, 3, 2, 12)
REPEATS = 3
TARGET_RATIO = 1.5
STAGES = ("ingest", "extract", "aggregate")


def _open(payload: dict[str, Any]) -> tuple[Any, Any]:
    from metricstore.catalog import write_catalog_table
    from metricstore.catalog_loader import load_catalog
    from metricstore.warehouse import connect

    catalog = load_catalog(Path(payload["metric_defs"]))
    conn = connect(Path(payload["warehouse"]))
    write_catalog_table(conn, catalog)
    return conn, catalog


def window_child(payload: dict[str, Any]) -> dict[str, Any]:
    """ingest + extract + aggregate of one window on the given warehouse; seconds per stage."""
    from metricstore.windows import TimeWindow

    conn, catalog = _open(payload)
    window = TimeWindow(datetime.fromisoformat(payload["start"]), datetime.fromisoformat(payload["end"]))
    seconds, results = time_steps(pipeline_steps(conn, catalog, Path(payload["landing"]), window))
    ingested, extracted, aggregated = results["ingest"], results["extract"], results["aggregate"]
    rows = {
        table: int(conn.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])  # noqa: S608 (fixed names)
        for table in ("raw.events", "metrics.metric_values", "metrics.metric_aggregates", "ops.landing_files")
    }
    conn.close()
    return {
        "seconds": {k: round(v, 3) for k, v in seconds.items()},
        "total_seconds": round(sum(seconds.values()), 3),
        "files_seen": ingested.files_seen,
        "files_read": ingested.files_read,
        "events_ingested": ingested.events_ingested,
        "entities": extracted.entities,
        "values_written": extracted.values_written,
        "aggregate_rows_written": aggregated.rows_written,
        "hours_recomputed": aggregated.hours,
        "rows_after": rows,
        "warehouse_bytes": Path(payload["warehouse"]).stat().st_size,
    }


def _median(runs: list[dict[str, Any]], stage: str | None = None) -> float:
    values = [r["total_seconds"] if stage is None else r["seconds"][stage] for r in runs]
    return round(statistics.median(values), 3)


def run(quick: bool) -> dict[str, Any]:
    days = QUICK_DAYS if quick else DAYS
    with tempfile.TemporaryDirectory(prefix="metricstore-bench-incremental-") as folder:
        tmp = Path(folder)
        defs = builtin_defs(tmp)
        started = time.perf_counter()
        history = generate_landing(tmp / "landing", conversations_per_hour=RATE, hours=days * 24, end=HISTORY_END)
        generate_seconds = time.perf_counter() - started
        common = {"metric_defs": str(defs)}
        build = run_in_child(
            "bench.incremental:window_child",
            {
                **common,
                "landing": str(tmp / "landing"),
                "warehouse": str(tmp / "history.duckdb"),
                "start": history.start.isoformat(),
                "end": history.end.isoformat(),
            },
        )
        # the next hour arrives after the history was built (another seed: new conversation and event ids)
        next_end = HISTORY_END + timedelta(hours=1)
        hour = generate_landing(tmp / "landing", conversations_per_hour=RATE, hours=1, end=next_end, seed=43)
        generate_landing(tmp / "landing_next", conversations_per_hour=RATE, hours=1, end=next_end, seed=43)
        window = {"start": HISTORY_END.isoformat(), "end": next_end.isoformat()}
        with_history: list[dict[str, Any]] = []
        empty: list[dict[str, Any]] = []
        for _ in range(REPEATS):
            copy = tmp / "run_history.duckdb"
            shutil.copyfile(tmp / "history.duckdb", copy)
            with_history.append(
                run_in_child(
                    "bench.incremental:window_child",
                    {**common, **window, "landing": str(tmp / "landing"), "warehouse": str(copy)},
                )
            )
            copy.unlink()
            fresh = tmp / "run_empty.duckdb"
            empty.append(
                run_in_child(
                    "bench.incremental:window_child",
                    {**common, **window, "landing": str(tmp / "landing_next"), "warehouse": str(fresh)},
                )
            )
            fresh.unlink()

    history_median, empty_median = _median(with_history), _median(empty)
    ratio = round(history_median / empty_median, 2)
    return {
        "history": {
            "days": days,
            "conversations_per_hour": RATE,
            "side_events_per_conversation": 1,
            "start": history.start.isoformat(),
            "end": history.end.isoformat(),
            "events": history.events,
            "landing_bytes": history.bytes_written,
            "generate_seconds": round(generate_seconds, 2),
            "build_seconds": build["seconds"],
            "build_total_seconds": build["total_seconds"],
            "build_peak_rss_bytes": build["peak_rss_bytes"],
            "rows": build["rows_after"],
            "warehouse_bytes": build["warehouse_bytes"],
        },
        "next_hour": {
            "window": f"[{window['start']}, {window['end']})",
            "events": hour.events,
            "landing_bytes": hour.bytes_written,
        },
        "repeats": REPEATS,
        "with_history": {
            "median_seconds": history_median,
            "median_by_stage": {s: _median(with_history, s) for s in STAGES},
            "runs": with_history,
        },
        "empty_warehouse": {
            "median_seconds": empty_median,
            "median_by_stage": {s: _median(empty, s) for s in STAGES},
            "runs": empty,
        },
        "ratio": ratio,
        "ratio_by_stage": {s: round(_median(with_history, s) / max(_median(empty, s), 1e-9), 2) for s in STAGES},
        "load_average_max": max(max(r["load_average"]) for r in [build, *with_history, *empty]),
        "cpus": os.cpu_count(),
        "target_ratio_max": TARGET_RATIO,
        "met": ratio <= TARGET_RATIO,
    }


def summary(result: dict[str, Any]) -> str:
    h, w, e = result["history"], result["with_history"], result["empty_warehouse"]
    build = " + ".join(f"{h['build_seconds'][s]:.1f}" for s in STAGES)
    lines = [
        f"History: {h['days']} days × 24 h × {h['conversations_per_hour']} conversations (+1 side event each) = "
        f"{h['events']:,} events, {h['landing_bytes'] / 1024**2:,.0f} MiB; built as one window in "
        f"{h['build_total_seconds']:.1f} s ({build} s), peak RSS {h['build_peak_rss_bytes'] / 1024**3:.2f} GiB, "
        f"{h['rows']['metrics.metric_values']:,} values. Next hour: {result['next_hour']['events']:,} events. "
        f"Median of {result['repeats']}.",
        "",
        "| next-hour run | total | ingest | extract | aggregate |",
        "|---|---|---|---|---|",
    ]
    for label, part in (("on the history", w), ("on an empty warehouse", e)):
        by = part["median_by_stage"]
        lines.append(
            f"| {label} | {part['median_seconds']:.3f} s | {by['ingest']:.3f} s | {by['extract']:.3f} s | "
            f"{by['aggregate']:.3f} s |"
        )
    r = result["ratio_by_stage"]
    lines += [
        f"| ratio | {result['ratio']}× | {r['ingest']}× | {r['extract']}× | {r['aggregate']}× |",
        "",
        f"- next hour with history ≤ {result['target_ratio_max']:g}× on an empty warehouse: "
        f"{'**met**' if result['met'] else '**not met**'} ({result['ratio']}×)",
        f"- machine: highest 1-minute load average seen around the runs {result.get('load_average_max')} "
        f"({result.get('cpus')} CPUs)",
    ]
    return "\n".join(lines)
