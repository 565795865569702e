"""Ingestion of landing files (CONTRACT §3) into ``raw.events``, set-based in DuckDB.

A run owns the events whose ``occurred_at`` falls in its window. It reads only the landing files that are
new, changed, or known (from ``ops.landing_files``) to hold events in the window; malformed lines go to
``ops.quarantine`` with file, line and reason while the rest of their file lands, and a file that cannot be
read, or is of a type that is not read, is recorded there at line 0 (metricstore/landing.py).

Exactly once: ``ops.event_deliveries`` indexes every valid line of every file read, whatever its hour. Of the
deliveries of one ``event_id`` the first by (occurred_at, file, line) is the event, in every run order; a later
delivery is a duplicate (recorded in ``ops.quarantine`` when its content differs). When the event a run stores
replaces a copy stored by another hour, or a landing file is removed, the events that leave ``raw.events`` take
their metric values (static and AI) with them and their hours are marked stale for the aggregates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from metricstore.landing import (
    LandingFile,
    UnreadableFile,
    drop_parsed,
    files_to_read,
    find_landing_files,
    parse_landing_files,
    removed_files,
)
from metricstore.warehouse import prepare, register_frame, run_script, scalar, transaction
from metricstore.windows import DAY, PARTITIONS_START, TimeWindow, utc_now

# An event may arrive early (clock skew, scheduled events): up to a day after the later of the run's window end
# and the time of ingestion is accepted; later than that cannot be a real occurrence and is quarantined.
EARLY_ARRIVAL = DAY


@dataclass(frozen=True)
class IngestResult:
    """What one ingestion of a window did."""

    files_seen: int
    files_read: int
    files_unreadable: int
    files_removed: int
    lines_read: int
    events_ingested: int
    duplicates_dropped: int
    quarantined: int
    events_removed: int
    events_by_source: dict[str, int]


def accepted_occurrences(window: TimeWindow, now: datetime) -> TimeWindow:
    """The ``occurred_at`` a run accepts: from the first partition to a day after the window end or now."""
    return TimeWindow(PARTITIONS_START, max(window.end, now) + EARLY_ARRIVAL)


def ingest_window(conn: duckdb.DuckDBPyConnection, landing: Path, window: TimeWindow) -> IngestResult:
    """Replace ``raw.events`` for ``window`` with what the landing folder holds for it (one transaction)."""
    prepare(conn)
    files = find_landing_files(landing)
    chosen = files_to_read(conn, files, window)
    removed = removed_files(conn, files)
    now = utc_now()
    # before the transaction, whose snapshot must see what the parse wrote
    parsed = parse_landing_files(conn, chosen, accepted_occurrences(window, now))
    try:
        with transaction(conn):
            lines = int(scalar(conn, "SELECT count(*) FROM parsed_lines"))
            register_frame(conn, "read_files", _files_frame(chosen))
            register_frame(conn, "unreadable_files", _unreadable_frame(parsed.unreadable))
            register_frame(conn, "removed_files", pl.DataFrame({"file": removed}, schema={"file": pl.String}))
            params: dict[str, Any] = {"window_start": window.start, "window_end": window.end, "now": now}
            run_script(conn, "ingest/record_files.sql", params)
            run_script(conn, "ingest/duplicates.sql", params)
            run_script(conn, "ingest/replace_events.sql", params)
            stats = _window_stats(conn, window)
            for table in (
                "read_files",
                "unreadable_files",
                "removed_files",
                "touched_ids",
                "touched_deliveries",
                "event_winners",
                "window_events",
                "leaving_events",
                "gone_events",
            ):
                conn.execute(f"DROP TABLE {table}")
    finally:
        drop_parsed(conn, parsed.database)  # the parsed copy of every line read: free it now
    return IngestResult(
        files_seen=len(files),
        files_read=len(chosen),
        files_unreadable=len(parsed.unreadable),
        files_removed=len(removed),
        lines_read=lines,
        **stats,
    )


def _files_frame(files: list[LandingFile]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "file": [f.path for f in files],
            "source": [f.source for f in files],
            "size_bytes": [f.size_bytes for f in files],
            "modified_at": [f.modified_at for f in files],
        },
        schema={"file": pl.String, "source": pl.String, "size_bytes": pl.Int64, "modified_at": pl.Float64},
    )


def _unreadable_frame(unreadable: list[UnreadableFile]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "file": [u.file.path for u in unreadable],
            "source": [u.file.source for u in unreadable],
            "reason": [u.reason for u in unreadable],
        },
        schema={"file": pl.String, "source": pl.String, "reason": pl.String},
    )


def _window_stats(conn: duckdb.DuckDBPyConnection, window: TimeWindow) -> dict[str, Any]:
    params = {"window_start": window.start, "window_end": window.end}
    valid_in_window = scalar(
        conn,
        "SELECT count(*) FROM parsed_lines WHERE reason IS NULL "
        "AND occurred_at >= $window_start AND occurred_at < $window_end",
        params,
    )
    by_source = dict(
        conn.execute(
            "SELECT source, count(*) FROM raw.events WHERE occurred_at >= $window_start "
            "AND occurred_at < $window_end GROUP BY source ORDER BY source",
            params,
        ).fetchall()
    )
    quarantined = scalar(conn, "SELECT count(*) FROM parsed_lines WHERE reason IS NOT NULL")
    ingested = sum(by_source.values())
    return {
        "events_ingested": ingested,
        "duplicates_dropped": int(valid_in_window) - ingested,
        "quarantined": int(quarantined) + int(scalar(conn, "SELECT count(*) FROM unreadable_files")),
        "events_removed": int(scalar(conn, "SELECT count(*) FROM gone_events")),
        "events_by_source": by_source,
    }
