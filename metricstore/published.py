"""The published warehouse: what readers (the API, ``metricstore query``, analysts) open instead of the
warehouse the job writes, so that they never wait for the job's lock and never see half a run.

After a run has committed, :func:`publish` makes a new snapshot in three steps:

1. the days whose metric values or conversations changed (``ops.publish_pending``, filled by the aggregate
   step in the transaction that recomputes them) are written as new, immutable Parquet parts, one per
   relation and day, under ``<published folder>/parts/``;
2. a small DuckDB file is built beside the published one: views over the current parts (``metric_values``,
   ``raw.conversations``), copies of the small tables (aggregates, definitions, quarantine, model calls,
   webhook deliveries, landing files) and the reporting views;
3. that file replaces the published one by ``os.replace``, an atomic rename.

A reader opens the published file read-only. It sees the snapshot it opened, whole, until it reopens: the job
never writes the file a reader has open (the rename gives new readers a new file) nor a part it reads (parts
are never rewritten, only superseded and deleted a grace period later). The cost of a publish grows with the
days a run changed (an hourly run: one or two days; the 24-hour AI lookback), not with the history kept.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb

from metricstore.config import Settings
from metricstore.durable import fsync_directory, fsync_file
from metricstore.warehouse import scalar, sql_text, transaction
from metricstore.windows import utc_now

# Relations published as day parts: relation → the SQL file selecting one day of it (by occurred_at, UTC).
DAY_PARTITIONED = {
    "metrics.metric_values": "publish/metric_values_day.sql",
    "raw.conversations": "publish/conversations_day.sql",
}
# Small relations copied whole into every snapshot.
COPIED_TABLES = (
    "metrics.metric_aggregates",
    "metrics.metric_definitions",
    "ops.quarantine",
    "ops.landing_files",
    "ops.llm_calls",
    "ops.webhook_deliveries",
    "ops.webhook_outbox",
    "ops.webhook_endpoints",
    "ops.calibrations",
    "ops.metric_gates",
)
# Views over the relations above, as sql/schema.sql defines them in the warehouse.
REPORTING_VIEWS = ("metrics.metric_latest", "metrics.metric_trend", "metrics.metric_catalog")
# The name the snapshot being built is attached under (not a name a warehouse file is likely to have).
ALIAS = "metricstore_snapshot_being_built"
# A superseded part stays on disk this long, for readers that opened an older snapshot and still query it.
GRACE = timedelta(hours=1)


class NotPublishedError(Exception):
    """No run has published the warehouse yet."""


@dataclass(frozen=True)
class PublishResult:
    """What one publish wrote."""

    path: Path
    days_republished: int
    parts_written: int
    rows_written: int
    bytes_written: int
    snapshot_bytes: int
    parts_deleted: int
    seconds: float


def open_published(settings: Settings) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published warehouse (the relations of CONTRACT §5 and ``raw.conversations``);
    :class:`NotPublishedError` when no run has published one yet."""
    path = settings.published
    if not path.is_file():
        raise NotPublishedError(f"nothing published at {path} yet: run the job first (`make run` or `metricstore run`)")
    conn = duckdb.connect(str(path), read_only=True)
    conn.execute("SET TimeZone = 'UTC'")
    conn.execute("SET parquet_metadata_cache = true")  # parts never change: their footers can be cached
    return conn


def parts_folder(published: Path) -> Path:
    return published.parent / "parts"


def publish(conn: duckdb.DuckDBPyConnection, published: Path) -> PublishResult:
    """Publish what the warehouse behind ``conn`` has committed as a new snapshot at ``published`` (see the module
    docstring). Safe to interrupt at any point: the days stay pending until a snapshot holding them is in place,
    and parts no snapshot references are deleted by a later publish."""
    started = time.perf_counter()
    published = published.resolve()
    folder = parts_folder(published)
    folder.mkdir(parents=True, exist_ok=True)
    token = f"{utc_now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    now = utc_now()
    pending = [r[0] for r in conn.execute("SELECT day FROM ops.publish_pending").fetchall()]
    new_parts: list[tuple[str, date, str | None, int, int]] = []
    for relation, days in _days_to_write(conn, pending).items():
        for day in days:
            new_parts.append((relation, day, *_write_part(conn, folder, relation, day, token)))
    current = _current_parts(conn, new_parts)
    tmp = published.with_name(f".{published.name}.{token}.tmp")
    _build_snapshot(conn, tmp, current)
    _replace(tmp, published)
    # Only once the snapshot is in place do its days stop being pending; a crash before this republishes them.
    republished = sorted({day for _, day, *_ in new_parts})
    with transaction(conn):
        for relation, day, path, rows, size in new_parts:
            conn.execute(
                "UPDATE ops.published_parts SET superseded_at = ? "
                "WHERE relation = ? AND day = ? AND superseded_at IS NULL",
                [now, relation, day],
            )
            conn.execute(
                "INSERT INTO ops.published_parts VALUES (?, ?, ?, ?, ?, ?, NULL)",
                [relation, day, path, rows, size, now],
            )
        conn.execute("DELETE FROM ops.publish_pending WHERE list_contains(?, day)", [pending])
    deleted = _delete_old_parts(conn, folder, published, now)
    return PublishResult(
        path=published,
        days_republished=len(republished),
        parts_written=sum(1 for p in new_parts if p[2] is not None),
        rows_written=sum(p[3] for p in new_parts),
        bytes_written=sum(p[4] for p in new_parts),
        snapshot_bytes=published.stat().st_size,
        parts_deleted=deleted,
        seconds=time.perf_counter() - started,
    )


def _days_to_write(conn: duckdb.DuckDBPyConnection, pending: list[date]) -> dict[str, list[date]]:
    """Per relation, the days to write: the pending ones, or every day it has when it was never published."""
    days: dict[str, list[date]] = {}
    for relation in DAY_PARTITIONED:
        if scalar(conn, "SELECT count(*) FROM ops.published_parts WHERE relation = ?", [relation]):
            days[relation] = sorted(pending)
        else:
            everything = conn.execute(
                f"SELECT DISTINCT occurred_at::DATE FROM {relation}"  # noqa: S608 (an allow-listed name)
            ).fetchall()
            days[relation] = sorted({r[0] for r in everything} | set(pending))
    return days


def _write_part(
    conn: duckdb.DuckDBPyConnection, folder: Path, relation: str, day: date, token: str
) -> tuple[str | None, int, int]:
    """Write one relation's rows of one day as a new Parquet part, made durable before any snapshot names it;
    (path, rows, bytes), path None when the day has no rows."""
    start = datetime(day.year, day.month, day.day)
    bounds = {"day_start": start, "day_end": start + timedelta(days=1)}
    target = folder / relation.replace(".", "__") / f"day={day.isoformat()}" / f"{token}.parquet"
    target.parent.mkdir(parents=True, exist_ok=True)
    select = sql_text(DAY_PARTITIONED[relation])
    rows = scalar(conn, f"COPY ({select}) TO {_quoted(target)} (FORMAT parquet, COMPRESSION zstd)", bounds)
    if not rows:
        target.unlink(missing_ok=True)
        return None, 0, 0
    fsync_file(target)
    fsync_directory(target.parent)
    return str(target), int(rows), target.stat().st_size


def _current_parts(
    conn: duckdb.DuckDBPyConnection, new_parts: list[tuple[str, date, str | None, int, int]]
) -> dict[str, list[str]]:
    """Per relation, the parts of the snapshot being built: the new ones, and the current ones of other days."""
    replaced = {(relation, day) for relation, day, *_ in new_parts}
    current: dict[str, list[str]] = {relation: [] for relation in DAY_PARTITIONED}
    for relation, day, path in conn.execute(
        "SELECT relation, day, path FROM ops.published_parts WHERE superseded_at IS NULL AND path IS NOT NULL "
        "ORDER BY relation, day"
    ).fetchall():
        if (relation, day) not in replaced and relation in current:
            current[relation].append(path)
    for relation, _, path, *_ in new_parts:
        if path is not None:
            current[relation].append(path)
    return current


def _build_snapshot(conn: duckdb.DuckDBPyConnection, target: Path, parts: dict[str, list[str]]) -> None:
    """Write the snapshot file: views over the parts, copies of the small tables, the reporting views."""
    target.unlink(missing_ok=True)
    warehouse = scalar(conn, "SELECT current_database()")
    conn.execute(f"ATTACH {_quoted(target)} AS {ALIAS}")
    try:
        for schema in ("raw", "metrics", "ops"):
            conn.execute(f"CREATE SCHEMA {ALIAS}.{schema}")
        for relation, files in parts.items():
            if files:
                listed = ", ".join(_quoted(Path(f)) for f in files)
                # DDL takes no parameters: the list is of paths we made, quoted. By name: a day written before a
                # column was added (metric_values.confidence) reads it as NULL.
                conn.execute(
                    f"CREATE VIEW {ALIAS}.{relation} AS SELECT * FROM read_parquet([{listed}], union_by_name = true)"  # noqa: S608
                )
            else:  # nothing yet: an empty table with the relation's columns
                conn.execute(f"CREATE TABLE {ALIAS}.{relation} AS SELECT * FROM {relation} LIMIT 0")  # noqa: S608
        for table in COPIED_TABLES:
            conn.execute(f"CREATE TABLE {ALIAS}.{table} AS SELECT * FROM {table}")  # noqa: S608 (allow-listed)
        for view in REPORTING_VIEWS:
            schema, name = view.split(".")
            sql = scalar(
                conn,
                "SELECT sql FROM duckdb_views() WHERE database_name = current_database() "
                "AND schema_name = ? AND view_name = ?",
                [schema, name],
            )
            # The view's own text, created in the snapshot, where its names resolve to the snapshot's relations.
            conn.execute(f"USE {ALIAS}")
            try:
                conn.execute(sql)
            finally:
                conn.execute(f"USE {_identifier(warehouse)}")
    finally:
        conn.execute(f"DETACH {ALIAS}")
    fsync_file(target)


def _identifier(name: str) -> str:
    """A database name as a quoted SQL identifier (a warehouse file may be called `my-warehouse.duckdb`)."""
    return '"' + name.replace('"', '""') + '"'


def _quoted(path: Path) -> str:
    """A path we made as a SQL string literal, for the statements that take no parameters (COPY, ATTACH, DDL)."""
    return "'" + str(path).replace("'", "''") + "'"


def _replace(tmp: Path, published: Path) -> None:
    """Atomically put the new snapshot in place (and make the rename durable)."""
    tmp.replace(published)
    fsync_directory(published.parent)


def _delete_old_parts(conn: duckdb.DuckDBPyConnection, folder: Path, published: Path, now: datetime) -> int:
    """Delete parts superseded more than :data:`GRACE` ago, and files no snapshot records (left by a publish that
    was interrupted) once they are that old."""
    cutoff = now - GRACE
    old = conn.execute(
        "SELECT path FROM ops.published_parts WHERE superseded_at < ? AND path IS NOT NULL", [cutoff]
    ).fetchall()
    known = {r[0] for r in conn.execute("SELECT path FROM ops.published_parts WHERE path IS NOT NULL").fetchall()}
    doomed = {r[0] for r in old}
    horizon = time.time() - GRACE.total_seconds()
    for candidate in [*folder.rglob("*.parquet"), *published.parent.glob(f".{published.name}.*.tmp")]:
        if str(candidate) not in known and _mtime_utc(candidate) < horizon:
            doomed.add(str(candidate))
    for path in doomed:
        Path(path).unlink(missing_ok=True)
    if old:
        conn.execute("DELETE FROM ops.published_parts WHERE superseded_at < ?", [cutoff])
    return len(doomed)


def _mtime_utc(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return float("inf")
