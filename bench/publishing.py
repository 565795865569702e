"""What does publishing cost, against the run it publishes, and against copying the warehouse instead? And do
readers get lock errors while the job writes?

* **Histories**: ``generate_landing`` at ``RATE`` conversations an hour with one side event each, ``max(DAYS)``
  days ending at ``HISTORY_END``; for each history length in ``DAYS`` (10 and 30; ``--quick``: 1 and 3) a
  warehouse holding the last that many days, materialized as ONE window through ``pipeline_steps`` and then
  published once (which writes every day as parts: the initial publish, timed too), in a child process.
* **Next hours** (a, b): ``REPEATS`` consecutive hours after the history at the same rate (another seed), each in
  a fresh child process on each warehouse, in this order, each timed with ``perf_counter`` and its bytes written
  read from the child's ``/proc/self/io`` (``wchar``: what the process handed to ``write``/``pwrite``, so the
  WAL, checkpoints, Parquet parts and copies alike):
  the run (ingest + extract + aggregate of the hour, as bench/incremental.py measures it; connection and catalog
  table set up before the clock starts); ``publish`` (metricstore/published.py: the changed days as Parquet
  parts, a snapshot file swapped in by rename); the alternative **full copy** (``CHECKPOINT``, copy the whole
  warehouse file to a temp file, fsync, ``os.replace``); the cheaper alternative **relations copy** (``ATTACH`` a
  new file and ``CREATE TABLE AS`` the reader-facing relations: every ``metrics`` table, ``ops.quarantine``,
  ``ops.llm_calls``, ``raw.conversations``; fsync, ``os.replace``). Medians over the hours; ratios are each
  cost / the same hour's run; growth per day of history = (cost at the long history − at the short) / the
  difference in days.
* **Readers during a backfill** (c): on the longest history, a child process runs ``BACKFILL_HOURS`` further hours
  one after another (each: the hour's ``pipeline_steps``, then ``publish``) on one connection it holds throughout,
  as the job holds the warehouse's lock while it runs. A reader process loops, every ``READER_PAUSE`` s: (i) open
  the writer's warehouse read-only and count its aggregates (counting tries and lock errors); (ii) open the
  published file (``open_published``) and run what the API's latest route runs (``query.latest`` of the
  workspace's aggregates, and of one conversation's values, which reads the Parquet parts), timing the open
  and the queries (p50/p99) and counting every error. Staleness of a publish = the first time a reader's
  query shows its state (the aggregates' row count the writer committed before publishing) minus the time
  ``publish`` returned (clipped at 0: the rename happens just before it returns).
* **DuckLake** (d), only where a Python whose DuckDB loads the DuckLake extension is at hand: this one, or
  ``BENCH_DUCKLAKE_PYTHON`` (e.g. a venv with duckdb==1.5.5, duckdb-extension-ducklake and
  duckdb-extension-sqlite-scanner: PyPI has no DuckLake build for this DuckDB; that child needs only duckdb);
  otherwise the result says why it was skipped. On the longest history's warehouse, after the backfill, per
  catalog (a DuckDB file; SQLite when its extension loads): the metric values but the last hour loaded into a
  DuckLake table, then, timed with their bytes written, the last hour appended (one snapshot) and the last day
  deleted and inserted again in one transaction (what ``publish`` rewrites); and a reader process attaching
  the lake read-only while the writer is attached, while it is inside a transaction, and after it closed.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench.generate import REPO, builtin_defs, generate_landing, pipeline_steps, run_in_child, time_steps

DAYS = (10, 30)
QUICK_DAYS = (1, 3)
RATE = 300  # conversations an hour, each with one side event
HISTORY_END = datetime(2026, 3, 2, 12)
REPEATS = 3
BACKFILL_HOURS = 24
QUICK_BACKFILL_HOURS = 6
READER_PAUSE = 0.02  # seconds between a reader's observations
WORKSPACE = "ws_bench"
STALENESS_TARGET = 60.0  # seconds
# The relations the "relations copy" alternative gives readers, beside every table of the metrics schema.
READER_RELATIONS = ("ops.quarantine", "ops.llm_calls", "raw.conversations")


# ---- measured in child processes ----


def _io_written() -> int:
    """Bytes this process has handed to write()/pwrite() so far (``wchar`` of /proc/self/io; 0 off Linux)."""
    try:
        for line in Path("/proc/self/io").read_text(encoding="ascii").splitlines():
            if line.startswith("wchar:"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


def _open(payload: dict[str, Any]) -> tuple[Any, Any]:
    from metricstore.catalog import write_catalog_table
    from metricstore.catalog_loader import load_catalog
    from metricstore.warehouse import connect

    catalog = load_catalog(Path(payload["metric_defs"]))
    conn = connect(Path(payload["warehouse"]))
    write_catalog_table(conn, catalog)
    return conn, catalog


def _window(start: str, end: str) -> Any:
    from metricstore.windows import TimeWindow

    return TimeWindow(datetime.fromisoformat(start), datetime.fromisoformat(end))


def _published_result(result: Any) -> dict[str, Any]:
    return {
        "days_republished": result.days_republished,
        "parts_written": result.parts_written,
        "rows_written": result.rows_written,
        "parts_bytes_written": result.bytes_written,
        "snapshot_bytes": result.snapshot_bytes,
        "parts_deleted": result.parts_deleted,
        "seconds": round(result.seconds, 3),
    }


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.exists() else 0


def _warehouse_bytes(warehouse: Path) -> int:
    wal = warehouse.with_name(warehouse.name + ".wal")
    return warehouse.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def _fsync_and_replace(tmp: Path, target: Path) -> None:
    with tmp.open("rb") as handle:
        os.fsync(handle.fileno())
    tmp.replace(target)
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


PUBLISH_PHASES = ("_days_to_write", "_write_part", "_current_parts", "_build_snapshot", "_replace", "_delete_old_parts")


def _timing_publish_phases() -> dict[str, float]:
    """Wrap publish's helpers (metricstore/published.py, looked up as module globals) to add up their seconds."""
    import functools

    from metricstore import published

    spent = dict.fromkeys(PUBLISH_PHASES, 0.0)

    def timed(name: str, function: Any) -> Any:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - started
                if name == "_write_part":  # (conn, folder, relation, day, token): which relation costs what
                    by_relation = f"_write_part {args[2]}"
                    spent[by_relation] = spent.get(by_relation, 0.0) + time.perf_counter() - started

        return wrapper

    for name in PUBLISH_PHASES:
        setattr(published, name, timed(name, getattr(published, name)))
    return spent


def build_child(payload: dict[str, Any]) -> dict[str, Any]:
    """Materialize the history as one window, then publish it for the first time."""
    from metricstore.published import publish

    conn, catalog = _open(payload)
    seconds, _ = time_steps(
        pipeline_steps(conn, catalog, Path(payload["landing"]), _window(payload["start"], payload["end"]))
    )
    written = _io_written()
    result = publish(conn, Path(payload["published"]))
    publish_written = _io_written() - written
    values = int(conn.execute("SELECT count(*) FROM metrics.metric_values").fetchall()[0][0])
    conn.close()
    return {
        "seconds": {k: round(v, 3) for k, v in seconds.items()},
        "total_seconds": round(sum(seconds.values()), 3),
        "metric_values": values,
        "initial_publish": {**_published_result(result), "bytes_written": publish_written},
        "warehouse_bytes": _warehouse_bytes(Path(payload["warehouse"])),
    }


def _full_copy(conn: Any, warehouse: Path, target: Path) -> dict[str, Any]:
    """The alternative: checkpoint, copy the whole warehouse file, swap the copy in by rename."""
    started = time.perf_counter()
    written = _io_written()
    conn.execute("CHECKPOINT")
    checkpointed = time.perf_counter()
    tmp = target.with_name(f".{target.name}.tmp")
    shutil.copyfile(warehouse, tmp)
    _fsync_and_replace(tmp, target)
    return {
        "seconds": round(time.perf_counter() - started, 3),
        "checkpoint_seconds": round(checkpointed - started, 3),
        "bytes_written": _io_written() - written,
        "file_bytes": target.stat().st_size,
    }


def _relations_copy(conn: Any, target: Path) -> dict[str, Any]:
    """The cheaper alternative: a new DuckDB file holding only what readers read, swapped in by rename."""
    started = time.perf_counter()
    written = _io_written()
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.unlink(missing_ok=True)
    metrics_tables = [
        f"metrics.{r[0]}"
        for r in conn.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = 'metrics' ORDER BY table_name"
        ).fetchall()
    ]
    relations = [*metrics_tables, *READER_RELATIONS]
    conn.execute(f"ATTACH '{tmp}' AS readers_copy")  # a temp path of ours
    try:
        for schema in ("raw", "metrics", "ops"):
            conn.execute(f"CREATE SCHEMA readers_copy.{schema}")
        for relation in relations:
            conn.execute(f"CREATE TABLE readers_copy.{relation} AS SELECT * FROM {relation}")  # noqa: S608 (ours)
    finally:
        conn.execute("DETACH readers_copy")
    _fsync_and_replace(tmp, target)
    return {
        "seconds": round(time.perf_counter() - started, 3),
        "bytes_written": _io_written() - written,
        "file_bytes": target.stat().st_size,
        "relations": relations,
    }


def hour_child(payload: dict[str, Any]) -> dict[str, Any]:
    """The next hour's run, its publish, and the two copying alternatives, one after the other."""
    from metricstore.published import parts_folder, publish

    conn, catalog = _open(payload)
    warehouse, published = Path(payload["warehouse"]), Path(payload["published"])
    phases = _timing_publish_phases()
    written = _io_written()
    seconds, results = time_steps(
        pipeline_steps(conn, catalog, Path(payload["landing"]), _window(payload["start"], payload["end"]))
    )
    run_written = _io_written() - written
    written = _io_written()
    result = publish(conn, published)
    publish_written = _io_written() - written
    full = _full_copy(conn, warehouse, Path(payload["full_copy"]))
    relations = _relations_copy(conn, Path(payload["relations_copy"]))
    conn.close()
    return {
        "run_seconds": round(sum(seconds.values()), 3),
        "run_seconds_by_stage": {k: round(v, 3) for k, v in seconds.items()},
        "run_bytes_written": run_written,
        "events_ingested": results["ingest"].events_ingested,
        "values_written": results["extract"].values_written,
        "publish": {
            **_published_result(result),
            "bytes_written": publish_written,
            "seconds_by_phase": {k.lstrip("_"): round(v, 3) for k, v in phases.items()},
        },
        "full_copy": full,
        "relations_copy": relations,
        "warehouse_bytes": _warehouse_bytes(warehouse),
        "published_bytes": published.stat().st_size + _folder_bytes(parts_folder(published.resolve())),
    }


def backfill_child(payload: dict[str, Any]) -> dict[str, Any]:
    """Hour after hour, run and publish on one connection held throughout; the readers watch from outside."""
    from metricstore.published import publish

    conn, catalog = _open(payload)
    ready, done = Path(payload["ready"]), Path(payload["done"])
    ready.touch()
    time.sleep(payload["settle_seconds"])  # readers observe the state before the backfill
    start = datetime.fromisoformat(payload["start"])
    hours = []
    began = time.time()
    for h in range(payload["hours"]):
        hour_start = start + timedelta(hours=h)
        window = _window(hour_start.isoformat(), (hour_start + timedelta(hours=1)).isoformat())
        seconds, _ = time_steps(pipeline_steps(conn, catalog, Path(payload["landing"]), window))
        # what a reader of the snapshot about to be published counts: the aggregates committed by this run
        state = int(conn.execute("SELECT count(*) FROM metrics.metric_aggregates").fetchall()[0][0])
        result = publish(conn, Path(payload["published"]))
        hours.append(
            {
                "hour": hour_start.isoformat(),
                "run_seconds": round(sum(seconds.values()), 3),
                "publish_seconds": round(result.seconds, 3),
                "rows_published": result.rows_written,
                "published_at": time.time(),
                "aggregates": state,
            }
        )
    ended = time.time()
    time.sleep(payload["settle_seconds"])  # and the state after it
    done.touch()  # readers stop before the lock is released, so none opens the warehouse unlocked
    time.sleep(0.5)
    conn.close()
    return {"hours": hours, "began": began, "ended": ended}


def reader_main(argv: list[str]) -> None:
    """The reader process: ``settings.json ready done out.jsonl``; one JSON line per observation."""
    import duckdb

    from metricstore.catalog_loader import load_catalog
    from metricstore.config import Settings
    from metricstore.published import open_published
    from metricstore.query import latest

    given, ready, done, out = argv
    config = json.loads(Path(given).read_text(encoding="utf-8"))
    settings = Settings(**{k: Path(v) for k, v in config["settings"].items()})
    catalog = load_catalog(settings.metric_defs)
    while not Path(ready).exists():
        time.sleep(0.01)
    with Path(out).open("w", encoding="utf-8") as sink:
        while not Path(done).exists():
            row: dict[str, Any] = {"at": time.time()}
            try:  # (i) the writer's warehouse, directly
                with duckdb.connect(str(settings.warehouse), read_only=True) as direct:
                    direct.execute("SELECT count(*) FROM metrics.metric_aggregates").fetchall()
                row["direct"] = "ok"
            except duckdb.Error as exc:
                row["direct"] = "lock" if "lock" in str(exc).lower() else f"error: {exc}"
            try:  # (ii) the published snapshot, as the API reads it
                opened = time.perf_counter()
                conn = open_published(settings)
                try:
                    queried = time.perf_counter()
                    aggregates = latest(conn, catalog, WORKSPACE)
                    entity = latest(conn, catalog, WORKSPACE, scope="entity", entity_id=config["entity_id"])
                    finished = time.perf_counter()
                    state = int(conn.execute("SELECT count(*) FROM metrics.metric_aggregates").fetchall()[0][0])
                finally:
                    conn.close()
                row |= {
                    "open_ms": round((queried - opened) * 1000, 3),
                    "query_ms": round((finished - queried) * 1000, 3),
                    "aggregates_returned": len(aggregates.aggregates),
                    "entity_values_returned": len(entity.entities),
                    "state": state,
                    "seen_at": time.time(),
                }
            except Exception as exc:  # every error counts; none is retried
                row["published_error"] = f"{type(exc).__name__}: {exc}"
            sink.write(json.dumps(row) + "\n")
            sink.flush()
            time.sleep(READER_PAUSE)


# ---- the parent ----


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 4)


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


def _summarise_hours(hours: list[dict[str, Any]]) -> dict[str, Any]:
    run = _median([h["run_seconds"] for h in hours])
    run_bytes = _median([h["run_bytes_written"] for h in hours])
    medians: dict[str, Any] = {"run_seconds": run, "run_bytes_written": run_bytes}
    for design in ("publish", "full_copy", "relations_copy"):
        seconds = _median([h[design]["seconds"] for h in hours])
        written = _median([h[design]["bytes_written"] for h in hours])
        medians[design] = {
            "seconds": seconds,
            "bytes_written": written,
            "seconds_ratio": round(seconds / run, 2),
            "bytes_ratio": round(written / max(run_bytes, 1), 2),
        }
    p = [h["publish"] for h in hours]
    medians["publish"] |= {
        "parts_written": _median([x["parts_written"] for x in p]),
        "parts_bytes_written": _median([x["parts_bytes_written"] for x in p]),
        "snapshot_bytes": _median([x["snapshot_bytes"] for x in p]),
        "days_republished": _median([x["days_republished"] for x in p]),
    }
    medians["publish"]["seconds_by_phase"] = {
        phase: _median([x["seconds_by_phase"].get(phase, 0.0) for x in p]) for phase in p[0]["seconds_by_phase"]
    }
    medians["full_copy"]["checkpoint_seconds"] = _median([h["full_copy"]["checkpoint_seconds"] for h in hours])
    last = hours[-1]
    medians["warehouse_bytes"] = last["warehouse_bytes"]
    medians["published_bytes"] = last["published_bytes"]
    medians["published_to_warehouse"] = round(last["published_bytes"] / last["warehouse_bytes"], 3)
    return medians


def _backfill(tmp: Path, common: dict[str, Any], warehouse: Path, published: Path, start: datetime, hours: int) -> Any:
    """Part (c): the writer in a child, a reader beside it; returns the writer's record and the observations."""
    ready, done, out = tmp / "backfill.ready", tmp / "backfill.done", tmp / "reader.jsonl"
    config = tmp / "reader.json"
    config.write_text(
        json.dumps(
            {
                "settings": {
                    "warehouse": str(warehouse),
                    "landing": common["landing"],
                    "metric_defs": common["metric_defs"],
                    "published": str(published),
                    "api_keys": str(tmp / "api_keys.sqlite"),
                },
                "entity_id": "conv_42_5_7",  # a conversation of the history's sixth hour
            }
        ),
        encoding="utf-8",
    )
    code = "import sys; from bench.publishing import reader_main; reader_main(sys.argv[1:])"
    reader = subprocess.Popen([sys.executable, "-c", code, str(config), str(ready), str(done), str(out)], cwd=REPO)
    try:
        writer = run_in_child(
            "bench.publishing:backfill_child",
            {
                **common,
                "warehouse": str(warehouse),
                "published": str(published),
                "start": start.isoformat(),
                "hours": hours,
                "ready": str(ready),
                "done": str(done),
                "settle_seconds": 2.0,
            },
        )
    finally:
        done.touch()
        reader.wait(timeout=120)
    observations = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    return writer, observations


def _readers(writer: dict[str, Any], observations: list[dict[str, Any]]) -> dict[str, Any]:
    during = [o for o in observations if writer["began"] <= o["at"] <= writer["ended"]]
    direct = [o["direct"] for o in observations]
    published_ok = [o for o in observations if "state" in o]
    query_ms = [o["query_ms"] for o in during if "query_ms" in o]
    open_ms = [o["open_ms"] for o in during if "open_ms" in o]
    staleness = []
    for hour in writer["hours"]:
        seen = [o["seen_at"] for o in published_ok if o["state"] >= hour["aggregates"]]
        staleness.append(round(max(0.0, min(seen) - hour["published_at"]), 3) if seen else None)
    measured = [s for s in staleness if s is not None]
    return {
        "observations": len(observations),
        "observations_during_backfill": len(during),
        "direct_tries": len(direct),
        "direct_lock_errors": sum(1 for d in direct if d == "lock"),
        "direct_other_errors": sorted({d for d in direct if d not in ("ok", "lock")}),
        "published_tries": len(observations),
        "published_errors": len(observations) - len(published_ok),
        "published_error_messages": sorted({o["published_error"] for o in observations if "published_error" in o}),
        "query_ms_p50": _percentile(query_ms, 0.5),
        "query_ms_p99": _percentile(query_ms, 0.99),
        "open_ms_p50": _percentile(open_ms, 0.5),
        "open_ms_p99": _percentile(open_ms, 0.99),
        "staleness_seconds": staleness,
        "staleness_never_seen": sum(1 for s in staleness if s is None),
        "staleness_p50": _percentile(measured, 0.5),
        "staleness_max": max(measured) if measured else None,
    }


def run(quick: bool) -> dict[str, Any]:
    lengths = QUICK_DAYS if quick else DAYS
    backfill_hours = QUICK_BACKFILL_HOURS if quick else BACKFILL_HOURS
    with tempfile.TemporaryDirectory(prefix="metricstore-bench-publishing-") as folder:
        tmp = Path(folder)
        defs = builtin_defs(tmp)
        landing = tmp / "landing"
        started = time.perf_counter()
        history = generate_landing(landing, conversations_per_hour=RATE, hours=max(lengths) * 24, end=HISTORY_END)
        generate_seconds = time.perf_counter() - started
        # the next hours and the backfill's hours arrive after the history was built (other seeds: new ids)
        next_end = HISTORY_END + timedelta(hours=REPEATS)
        generate_landing(landing, conversations_per_hour=RATE, hours=REPEATS, end=next_end, seed=43)
        common = {"metric_defs": str(defs), "landing": str(landing)}
        histories: dict[str, Any] = {}
        for days in lengths:
            home = tmp / f"days_{days}"
            home.mkdir()
            paths = {
                "warehouse": str(home / "warehouse.duckdb"),
                "published": str(home / "published" / "warehouse.duckdb"),
                "full_copy": str(home / "full_copy" / "warehouse.duckdb"),
                "relations_copy": str(home / "relations_copy" / "readers.duckdb"),
            }
            for key in ("published", "full_copy", "relations_copy"):
                Path(paths[key]).parent.mkdir()
            build = run_in_child(
                "bench.publishing:build_child",
                {
                    **common,
                    **paths,
                    "start": (HISTORY_END - timedelta(days=days)).isoformat(),
                    "end": HISTORY_END.isoformat(),
                },
            )
            hours = []
            for h in range(REPEATS):
                hour_start = HISTORY_END + timedelta(hours=h)
                window = {"start": hour_start.isoformat(), "end": (hour_start + timedelta(hours=1)).isoformat()}
                hours.append(run_in_child("bench.publishing:hour_child", {**common, **paths, **window}))
            histories[str(days)] = {
                "days": days,
                "build_seconds": build["seconds"],
                "build_total_seconds": build["total_seconds"],
                "metric_values": build["metric_values"],
                "build_peak_rss_bytes": build["peak_rss_bytes"],
                "initial_publish": build["initial_publish"],
                "warehouse_bytes_after_build": build["warehouse_bytes"],
                "median": _summarise_hours(hours),
                "hours": hours,
            }
            if days != max(lengths):  # free the disk: only the longest history goes on to the backfill
                shutil.rmtree(home)
        longest = tmp / f"days_{max(lengths)}"
        backfill_end = next_end + timedelta(hours=backfill_hours)
        backfill_landing = generate_landing(
            landing, conversations_per_hour=RATE, hours=backfill_hours, end=backfill_end, seed=44
        )
        writer, observations = _backfill(
            tmp,
            common,
            longest / "warehouse.duckdb",
            longest / "published" / "warehouse.duckdb",
            next_end,
            backfill_hours,
        )
        ducklake = _ducklake(tmp, longest / "warehouse.duckdb")

    short, long = histories[str(min(lengths))]["median"], histories[str(max(lengths))]["median"]
    span = max(lengths) - min(lengths)
    growth = {
        design: {
            "seconds_per_day": round((long[design]["seconds"] - short[design]["seconds"]) / span, 5),
            "bytes_per_day": round((long[design]["bytes_written"] - short[design]["bytes_written"]) / span),
        }
        for design in ("publish", "full_copy", "relations_copy")
    }
    growth["run"] = {
        "seconds_per_day": round((long["run_seconds"] - short["run_seconds"]) / span, 5),
        "bytes_per_day": round((long["run_bytes_written"] - short["run_bytes_written"]) / span),
    }
    readers = _readers(writer, observations)
    backfill_hours_run = writer["hours"]
    return {
        "conversations_per_hour": RATE,
        "side_events_per_conversation": 1,
        "history_days": list(lengths),
        "history_end": HISTORY_END.isoformat(),
        "history_events": history.events,
        "landing_bytes": history.bytes_written,
        "generate_seconds": round(generate_seconds, 2),
        "repeats": REPEATS,
        "histories": histories,
        "growth_per_day_of_history": growth,
        "backfill": {
            "hours": backfill_hours,
            "events": backfill_landing.events,
            "seconds": round(writer["ended"] - writer["began"], 2),
            "run_seconds_median": _median([h["run_seconds"] for h in backfill_hours_run]),
            "publish_seconds_median": _median([h["publish_seconds"] for h in backfill_hours_run]),
            "per_hour": [
                {k: h[k] for k in ("hour", "run_seconds", "publish_seconds", "rows_published")}
                for h in backfill_hours_run
            ],
            "readers": readers,
        },
        "ducklake": ducklake,
        "targets": {
            "published_lock_errors": {"target": 0, "value": readers["published_errors"]},
            "staleness_seconds": {"target_max": STALENESS_TARGET, "value": readers["staleness_max"]},
        },
        "met": {
            "published_lock_errors": readers["published_errors"] == 0,
            "staleness": readers["staleness_max"] is not None
            and readers["staleness_max"] < STALENESS_TARGET
            and readers["staleness_never_seen"] == 0,
        },
        "load_average": list(os.getloadavg()),
        "cpus": os.cpu_count(),
    }


# ---- DuckLake (optional) ----


def _ducklake_extensions() -> dict[str, str]:
    """Where this Python's DuckDB finds the ``ducklake`` (and ``sqlite_scanner``) extensions: the files of the
    ``duckdb-extension-*`` packages built for its version, else the bare name (an installed extension)."""
    import importlib.util

    import duckdb

    found = {}
    for name in ("ducklake", "sqlite_scanner"):
        spec = importlib.util.find_spec(f"duckdb_extension_{name}")
        if spec is not None and spec.origin is not None:
            path = Path(spec.origin).parent / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
            if path.exists():
                found[name] = str(path)
                continue
        try:
            duckdb.connect().execute(f"LOAD {name}")
            found[name] = name
        except duckdb.Error:
            pass
    return found


def ducklake_probe(_: dict[str, Any]) -> dict[str, Any]:
    """In a child (a mismatched extension can crash the process that loads it): the extensions that load."""
    import duckdb

    loaded = {}
    for name, source in _ducklake_extensions().items():
        duckdb.connect().execute(f"LOAD '{source}'")
        loaded[name] = source
    return {"duckdb": duckdb.__version__, "extensions": loaded}


def _run_with(python: str, target: str, payload: dict[str, Any]) -> dict[str, Any]:
    """``module:function(payload)`` in a child run by ``python`` (which needs only duckdb: see the docstring)."""
    with tempfile.TemporaryDirectory(prefix="metricstore-bench-io-") as io:
        given, taken = Path(io) / "in.json", Path(io) / "out.json"
        given.write_text(json.dumps(payload), encoding="utf-8")
        code = "import sys; from bench.generate import child_main; child_main(sys.argv[1:])"
        done = subprocess.run(
            [python, "-c", code, target, str(given), str(taken)],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            return {"failed": f"{target} exited with {done.returncode}: {done.stderr.strip()[-600:]}"}
        result: dict[str, Any] = json.loads(taken.read_text(encoding="utf-8"))
        return result


def _ducklake(tmp: Path, warehouse: Path) -> dict[str, Any]:
    """Part (d), when a Python whose DuckDB loads DuckLake is at hand: this one, or ``BENCH_DUCKLAKE_PYTHON``."""
    import duckdb

    python = os.environ.get("BENCH_DUCKLAKE_PYTHON", sys.executable)
    probe = _run_with(python, "bench.publishing:ducklake_probe", {})
    if "ducklake" not in probe.get("extensions", {}):
        return {
            "skipped": f"no DuckLake extension loads into DuckDB {duckdb.__version__} "
            f"({probe.get('failed', 'none found')}): PyPI's duckdb-extension-ducklake stops at 1.5.5 (refused by "
            "v1.5.6; a segmentation fault with allow_extensions_metadata_mismatch) and there is no network to "
            "INSTALL it. Set BENCH_DUCKLAKE_PYTHON to a Python with duckdb==1.5.5, duckdb-extension-ducklake and "
            "duckdb-extension-sqlite-scanner to measure it"
        }
    return _run_with(
        python,
        "bench.publishing:ducklake_child",
        {"warehouse": str(warehouse), "folder": str(tmp / "ducklake"), "extensions": probe["extensions"]},
    ) | {"duckdb": probe["duckdb"], "python": python}


DUCKLAKE_READER = """
import sys, duckdb
conn = duckdb.connect()
for source in sys.argv[2:]:
    conn.execute(f"LOAD '{source}'")
conn.execute(f"ATTACH '{sys.argv[1]}' AS lake (READ_ONLY)")
print(conn.execute("SELECT count(*) FROM lake.metric_values").fetchall()[0][0])
"""


def _ducklake_reader(python: str, location: str, sources: list[str]) -> str:
    """A reader in another process, attaching the lake read-only: its count, or its error."""
    done = subprocess.run(
        [python, "-c", DUCKLAKE_READER, location, *sources], capture_output=True, text=True, check=False, timeout=120
    )
    if done.returncode == 0:
        return f"ok ({int(done.stdout.strip()):,} rows)"
    message = (done.stderr.strip().splitlines() or ["?"])[-1]
    return "lock error (Could not set lock on file)" if "Could not set lock" in message else f"error: {message[:300]}"


def ducklake_child(payload: dict[str, Any]) -> dict[str, Any]:
    """The history's metric values into a DuckLake table but the last hour; then, timed: the last hour appended
    (one snapshot), and the last day deleted and inserted again in one transaction (what ``publish`` rewrites);
    a reader in another process while this process is attached, idle and then inside a transaction."""
    import duckdb

    extensions = payload["extensions"]
    catalogs = {"duckdb": "catalog.ducklake"}
    if "sqlite_scanner" in extensions:
        catalogs["sqlite"] = "catalog.sqlite"
    results: dict[str, Any] = {}
    for kind, name in catalogs.items():
        folder = Path(payload["folder"]) / kind
        folder.mkdir(parents=True)
        location = f"ducklake:{'sqlite:' if kind == 'sqlite' else ''}{folder / name}"
        sources = list(extensions.values())
        conn = duckdb.connect()
        for source in sources:
            conn.execute(f"LOAD '{source}'")
        conn.execute(f"ATTACH '{payload['warehouse']}' AS wh (READ_ONLY)")
        conn.execute(f"ATTACH '{location}' AS lake (DATA_PATH '{folder / 'data'}/')")
        columns = conn.execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = 'wh' "
            "AND schema_name = 'metrics' AND table_name = 'metric_values' ORDER BY column_index"
        ).fetchall()
        # DuckLake has no ENUM type: the closed vocabularies go in as strings
        select = ", ".join(f"{c}::VARCHAR AS {c}" if t.startswith("ENUM") else c for c, t in columns)
        source_rows = f"SELECT {select} FROM wh.metrics.metric_values"  # noqa: S608 (the table's own columns)
        last = conn.execute("SELECT max(occurred_at) FROM wh.metrics.metric_values").fetchall()[0][0]
        hour = last.replace(minute=0, second=0, microsecond=0)
        day = hour.replace(hour=0)
        started = time.perf_counter()
        conn.execute(f"CREATE TABLE lake.metric_values AS {source_rows} WHERE occurred_at < ?", [hour])
        initial = time.perf_counter() - started
        timings: dict[str, Any] = {"initial_load_seconds": round(initial, 3)}
        for label, statements in (
            ("hour_append", [(f"INSERT INTO lake.metric_values {source_rows} WHERE occurred_at >= ?", [hour])]),
            (
                "day_rewrite",
                [
                    ("DELETE FROM lake.metric_values WHERE occurred_at >= ?", [day]),
                    (f"INSERT INTO lake.metric_values {source_rows} WHERE occurred_at >= ?", [day]),
                ],
            ),
        ):
            written, started = _io_written(), time.perf_counter()
            conn.execute("BEGIN TRANSACTION")
            for sql, params in statements:
                conn.execute(sql, params)
            conn.execute("COMMIT")
            timings[f"{label}_seconds"] = round(time.perf_counter() - started, 3)
            timings[f"{label}_bytes_written"] = _io_written() - written
        timings["reader_while_writer_attached"] = _ducklake_reader(sys.executable, location, sources)
        conn.execute("BEGIN TRANSACTION")
        conn.execute("DELETE FROM lake.metric_values WHERE occurred_at >= ?", [day])
        timings["reader_during_writer_transaction"] = _ducklake_reader(sys.executable, location, sources)
        conn.execute("ROLLBACK")
        conn.close()
        timings["reader_after_writer_closed"] = _ducklake_reader(sys.executable, location, sources)
        timings["disk_bytes"] = _folder_bytes(folder)
        timings["last_hour"] = hour.isoformat()
        results[kind] = timings
    return {"catalogs": results}


# ---- the report ----


def _mib(n: float) -> str:
    return f"{n / 1024**2:,.1f} MiB"


def summary(result: dict[str, Any]) -> str:
    lengths = result["history_days"]
    long = result["histories"][str(max(lengths))]
    m = long["median"]
    p = m["publish"]
    lines = [
        f"History at {result['conversations_per_hour']} conversations an hour (+1 side event each), "
        f"{max(lengths)} days = {result['history_events']:,} events, {long['metric_values']:,} metric values; "
        f"the next hour's run then each way of giving readers its results, median of {result['repeats']} hours, "
        "ratios to the same hour's run.",
        "",
        f"**(a) publish after the next hour, {max(lengths)} days of history**: run {m['run_seconds']:.3f} s "
        f"writing {_mib(m['run_bytes_written'])}; publish {p['seconds']:.3f} s (**{p['seconds_ratio']}×** the run) "
        f"writing {_mib(p['bytes_written'])} (**{p['bytes_ratio']}×** the run's bytes): {p['parts_written']:g} "
        f"parts of {p['days_republished']:g} day(s), {_mib(p['parts_bytes_written'])} of Parquet, snapshot file "
        f"{_mib(p['snapshot_bytes'])}. Published on disk {_mib(m['published_bytes'])} = "
        f"{m['published_to_warehouse']}× the warehouse ({_mib(m['warehouse_bytes'])}). Initial publish of the "
        f"history: {long['initial_publish']['seconds']:.1f} s, {long['initial_publish']['parts_written']} parts.",
        "",
        "Publish's time by step (median seconds): "
        + ", ".join(f"{k} {v:.3f}" for k, v in p["seconds_by_phase"].items())
        + ".",
        "",
        "**(b) designs, per hourly run, by history kept**",
        "",
        "| design | "
        + " | ".join(f"{d} days: s (× run)" for d in lengths)
        + " | "
        + " | ".join(f"{d} days: written (× run)" for d in lengths)
        + " | growth per day of history |",
        "|---" * (2 + 2 * len(lengths)) + "|",
    ]
    growth = result["growth_per_day_of_history"]
    labels = {
        "publish": "publish (day parts + snapshot)",
        "full_copy": "checkpoint + copy whole file",
        "relations_copy": "copy reader relations to a new file",
    }
    for design, label in labels.items():
        cells = [result["histories"][str(d)]["median"][design] for d in lengths]
        seconds = " | ".join(f"{c['seconds']:.3f} ({c['seconds_ratio']}×)" for c in cells)
        written = " | ".join(f"{_mib(c['bytes_written'])} ({c['bytes_ratio']}×)" for c in cells)
        g = growth[design]
        lines.append(
            f"| {label} | {seconds} | {written} | {g['seconds_per_day'] * 1000:+.1f} ms, "
            f"{g['bytes_per_day'] / 1024**2:+.1f} MiB |"
        )
    runs = [result["histories"][str(d)]["median"] for d in lengths]
    lines.append(
        "| (the run itself) | "
        + " | ".join(f"{r['run_seconds']:.3f}" for r in runs)
        + " | "
        + " | ".join(_mib(r["run_bytes_written"]) for r in runs)
        + f" | {growth['run']['seconds_per_day'] * 1000:+.1f} ms, {growth['run']['bytes_per_day'] / 1024**2:+.1f} MiB |"
    )
    b = result["backfill"]
    r = b["readers"]
    met = result["met"]
    stale_max = r["staleness_max"]
    lines += [
        "",
        f"**(c) readers during a backfill** of {b['hours']} hours ({b['events']:,} events) in {b['seconds']:.1f} s, "
        f"hour by hour on one connection (run {b['run_seconds_median']:.3f} s + publish "
        f"{b['publish_seconds_median']:.3f} s per hour, medians); one reader process alternating:",
        "",
        "| reader of | tries | lock errors | other errors | query p50 / p99 | open p50 / p99 |",
        "|---|---|---|---|---|---|",
        f"| the writer's warehouse | {r['direct_tries']} | {r['direct_lock_errors']} | "
        f"{len(r['direct_other_errors'])} | – | – |",
        f"| the published file | {r['published_tries']} | {r['published_errors']} | – | "
        f"{r['query_ms_p50']} / {r['query_ms_p99']} ms | {r['open_ms_p50']} / {r['open_ms_p99']} ms |",
        "",
        f"- errors reading the published file during the backfill = 0: "
        f"{'**met**' if met['published_lock_errors'] else '**not met**'} ({r['published_errors']})",
        f"- staleness (publish returned → a reader's first query showing it) < {STALENESS_TARGET:g} s: "
        f"{'**met**' if met['staleness'] else '**not met**'} (p50 {r['staleness_p50']} s, max {stale_max} s over "
        f"{len(r['staleness_seconds'])} publishes, {r['staleness_never_seen']} never seen)",
    ]
    d = result["ducklake"]
    if "catalogs" not in d:
        lines.append(f"- (d) DuckLake: skipped, {d.get('skipped') or d.get('failed')}")
    else:
        lines += [
            "",
            f"**(d) DuckLake** (DuckDB {d['duckdb']} in another Python: the extension is not built for this one), "
            "the longest history's metric values; the hour and the day are the warehouse's last:",
            "",
            "| catalog | append the hour | rewrite the day | reader while the writer is attached | "
            "… inside its transaction | … after it closed |",
            "|---|---|---|---|---|---|",
        ]
        for kind, c in d["catalogs"].items():
            lines.append(
                f"| {kind} | {c['hour_append_seconds']:.3f} s, {_mib(c['hour_append_bytes_written'])} | "
                f"{c['day_rewrite_seconds']:.3f} s, {_mib(c['day_rewrite_bytes_written'])} | "
                f"{c['reader_while_writer_attached']} | {c['reader_during_writer_transaction']} | "
                f"{c['reader_after_writer_closed']} |"
            )
        lines.append("")
    lines.append(f"- machine: {result['cpus']} CPUs, load average at the end {result['load_average']}")
    return "\n".join(lines)
