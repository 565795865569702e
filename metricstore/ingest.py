"""Ingestion of landing files (CONTRACT §3) into ``raw.events``, set-based in DuckDB.

A run owns the events whose ``occurred_at`` falls in its window. It reads only the landing files that are
new, changed, or known (from ``ops.landing_files``) to hold events in the window; malformed lines go to
``ops.quarantine`` with file, line and reason while the rest of their file lands.
"""

from __future__ import annotations

import os
import stat
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from metricstore.definitions import SOURCES
from metricstore.warehouse import prepare, register_frame, render_sql, run_script, scalar, split_statements
from metricstore.windows import TimeWindow, utc_now

LANDING_SUFFIXES = {".jsonl": "none", ".jsonl.gz": "gzip", ".parquet": "parquet"}


@dataclass(frozen=True)
class LandingFile:
    path: Path
    source: str
    size_bytes: int
    modified_at: float

    @property
    def format(self) -> str:
        return "parquet" if self.path.name.endswith(".parquet") else "jsonl"

    @property
    def compression(self) -> str:
        return "gzip" if self.path.name.endswith(".gz") else "none"


@dataclass(frozen=True)
class IngestResult:
    """What one ingestion of a window did."""

    files_seen: int
    files_read: int
    lines_read: int
    events_ingested: int
    duplicates_dropped: int
    quarantined: int
    events_by_source: dict[str, int]


def find_landing_files(landing: Path) -> list[LandingFile]:
    """Every ``<landing>/<source>/**`` file with a supported suffix, in path order."""
    found = []
    root = landing.resolve()  # once: a file below it needs resolving only when it is a symlink
    suffixes = tuple(LANDING_SUFFIXES)
    for source in SOURCES:
        folder = root / source
        if not folder.is_dir():
            continue
        batch = []
        for directory, _subfolders, names in os.walk(folder):  # like rglob: symlinked folders are not entered
            for name in names:
                if not name.endswith(suffixes):
                    continue
                path = Path(directory, name)
                info = os.lstat(path)  # one system call per file, where is_file() + stat() + resolve() made several
                if stat.S_ISLNK(info.st_mode):
                    path = path.resolve()
                    try:
                        info = path.stat()
                    except OSError:  # a dangling link
                        continue
                if stat.S_ISREG(info.st_mode):
                    batch.append(LandingFile(path, source, info.st_size, info.st_mtime))
        found += sorted(batch, key=lambda f: f.path.parts)
    return found


def files_to_read(conn: duckdb.DuckDBPyConnection, files: list[LandingFile], window: TimeWindow) -> list[LandingFile]:
    """New or changed files, and indexed files whose events overlap the window."""
    known = {
        row[0]: row[1:]
        for row in conn.execute(
            "SELECT file, size_bytes, modified_at, min_occurred_at, max_occurred_at FROM ops.landing_files"
        ).fetchall()
    }
    chosen = []
    for f in files:
        seen = known.get(str(f.path))
        if seen is None or seen[0] != f.size_bytes or seen[1] != f.modified_at:
            chosen.append(f)
            continue
        low, high = seen[2], seen[3]
        if low is not None and low < window.end and high >= window.start:
            chosen.append(f)
    return chosen


def ingest_window(conn: duckdb.DuckDBPyConnection, landing: Path, window: TimeWindow) -> IngestResult:
    """Replace ``raw.events`` for ``window`` with what the landing folder holds for it (one transaction)."""
    prepare(conn)
    files = find_landing_files(landing)
    chosen = files_to_read(conn, files, window)
    now = utc_now()
    parsed = _parse_files(conn, chosen)  # before the transaction, whose snapshot must see what the parse wrote
    try:
        conn.execute("BEGIN TRANSACTION")
        try:
            lines = int(scalar(conn, "SELECT count(*) FROM parsed_lines"))
            register_frame(conn, "read_files", _files_frame(chosen))
            run_script(conn, "ingest/record_files.sql", {"now": now})
            params: dict[str, Any] = {"window_start": window.start, "window_end": window.end, "ingested_at": now}
            run_script(conn, "ingest/upsert_events.sql", params)
            stats = _window_stats(conn, window)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    finally:
        _drop_parsed(conn, parsed)  # the parsed copy of every line read: free it now
    return IngestResult(files_seen=len(files), files_read=len(chosen), lines_read=lines, **stats)


def _parse_files(conn: duckdb.DuckDBPyConnection, files: list[LandingFile]) -> str:
    """Parse ``files`` into the temp view ``parsed_lines``; returns the database that holds what it shows.

    A file's line numbers come from a row_number() over its read, which keeps the parse of that file on one
    thread, so the files are split into as many groups of about equal size as DuckDB has threads, and each group
    is parsed by its own statement, on its own cursor, at the same time. The groups' tables live in an in-memory
    database attached for this ingestion alone (its own name: another ingestion in the process has its own),
    which every cursor of the connection sees."""
    database = f"ingest_parse_{uuid.uuid4().hex[:12]}"
    conn.execute(f"ATTACH ':memory:' AS {database}")
    threads = int(scalar(conn, "SELECT current_setting('threads')"))
    groups = _balanced_groups(files, max(1, min(threads, len(files))))
    tables = [f"{database}.parsed_{i}" for i in range(len(groups))]
    sources = ", ".join(f"'{s}'" for s in SOURCES)

    def parse(cursor: duckdb.DuckDBPyConnection, table: str, group: list[LandingFile]) -> None:
        params: list[Any] = []
        for f in group:
            params += [str(f.path), f.source, str(f.path)]
        (statement,) = split_statements(
            render_sql("ingest/parse_events.sql", files=group, sources=sources, table=table)
        )
        cursor.execute("SET TimeZone = 'UTC'")
        cursor.execute(statement, params)

    cursors: list[duckdb.DuckDBPyConnection] = []
    try:
        cursors += [conn.cursor() for _ in groups]  # made here, each then used by one thread only
        with ThreadPoolExecutor(len(groups)) as pool:
            list(pool.map(parse, cursors, tables, groups))  # re-raises the first failure, once every group ended
        # (part, part_row) names a parsed line even when two landing entries are one file (symlinks)
        union = " UNION ALL ".join(
            f"SELECT *, {i} AS part, rowid AS part_row FROM {table}"  # noqa: S608 (names made above)
            for i, table in enumerate(tables)
        )
        conn.execute(f"CREATE OR REPLACE TEMP VIEW parsed_lines AS {union}")
    except BaseException:
        _drop_parsed(conn, database)
        raise
    finally:
        for cursor in cursors:
            cursor.close()
    return database


def _drop_parsed(conn: duckdb.DuckDBPyConnection, database: str) -> None:
    conn.execute("DROP VIEW IF EXISTS parsed_lines")
    conn.execute(f"DETACH DATABASE IF EXISTS {database}")


def _balanced_groups(files: list[LandingFile], count: int) -> list[list[LandingFile]]:
    """``count`` groups of files with about equal bytes each (the largest file first into the lightest group)."""
    groups: list[list[LandingFile]] = [[] for _ in range(count)]
    sizes = [0] * count
    for f in sorted(files, key=lambda f: f.size_bytes, reverse=True):
        lightest = sizes.index(min(sizes))
        groups[lightest].append(f)
        sizes[lightest] += f.size_bytes
    return groups


def _files_frame(files: list[LandingFile]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "file": [str(f.path) for f in files],
            "source": [f.source for f in files],
            "size_bytes": [f.size_bytes for f in files],
            "modified_at": [f.modified_at for f in files],
        },
        schema={"file": pl.String, "source": pl.String, "size_bytes": pl.Int64, "modified_at": pl.Float64},
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
        "quarantined": int(quarantined),
        "events_by_source": by_source,
    }
