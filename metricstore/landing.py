"""Landing files (CONTRACT §3): finding them, choosing which a run reads, and parsing them into lines.

A file harms only itself. Every file in a source folder is either read or recorded: a type that is not read
(``.csv``, ``.jsonl.zst``, ``.json``, …) and a file that cannot be read to its end (corrupt Parquet, a plain
file named ``.gz``, a truncated gzip stream) become an :class:`UnreadableFile` with its reason, which ingestion
writes to ``ops.quarantine`` at line 0 while every other file lands. A line that cannot be decoded (invalid
UTF-8, longer than :data:`MAX_LINE_BYTES`) is quarantined alone and its neighbours are kept.
"""

from __future__ import annotations

import gzip
import os
import stat
import uuid
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from metricstore.definitions import SOURCES
from metricstore.warehouse import register_frame, render_sql, run_script, scalar, split_statements
from metricstore.windows import TimeWindow

# Suffix (matched case-insensitively) -> (format, compression). NDJSON is JSON lines under another name.
READ_SUFFIXES = {
    ".jsonl.gz": ("jsonl", "gzip"),
    ".ndjson.gz": ("jsonl", "gzip"),
    ".jsonl": ("jsonl", "none"),
    ".ndjson": ("jsonl", "none"),
    ".parquet": ("parquet", "none"),
}
# A `.json` file is as often one document (an array, a pretty-printed object) as one event per line: reading it
# as JSON lines would quarantine every line of the former, so it is reported instead of guessed at.
JSON_DOCUMENT_REASON = (
    "a .json file may hold one JSON document rather than one event per line: not read "
    "(rename it .jsonl or .ndjson if it holds one event per line)"
)
UNSUPPORTED_REASON = "unsupported file type: not read (landing files are " + ", ".join(READ_SUFFIXES) + ")"

# 64 MiB: a long transcript must not fail the read; a longer line is quarantined alone. The CSV reader's buffer
# (by default 16 x max_line_size = 1 GiB reserved per file scan) need only hold two such lines.
MAX_LINE_BYTES = 64 * 1024 * 1024

_REJECTED_LINE_REASONS = {
    "INVALID ENCODING": "line is not valid UTF-8",
    "LINE SIZE OVER MAXIMUM": "line longer than the maximum line size of {max} bytes",
}


@dataclass(frozen=True)
class LandingFile:
    path: str  # absolute, as a string: the warehouse indexes files by it, and a folder can hold many thousands
    source: str
    size_bytes: int
    modified_at: float

    @property
    def suffix(self) -> str | None:
        """The read suffix the name ends with (any case), or None for a type that is not read."""
        name = os.path.basename(self.path).lower()  # noqa: PTH119 (a string path: see find_landing_files)
        return next((s for s in READ_SUFFIXES if name.endswith(s)), None)

    @property
    def format(self) -> str:
        return READ_SUFFIXES[self.suffix][0] if self.suffix else "unsupported"

    @property
    def compression(self) -> str:
        return READ_SUFFIXES[self.suffix][1] if self.suffix else "none"


@dataclass(frozen=True)
class UnreadableFile:
    """A landing file recorded at file level instead of read (its type, or an error reading it)."""

    file: LandingFile
    reason: str


@dataclass(frozen=True)
class ParsedFiles:
    """The temp view ``parsed_lines`` over the readable files (held by ``database``), and the others."""

    database: str
    unreadable: list[UnreadableFile]


def find_landing_files(landing: Path) -> list[LandingFile]:
    """Every regular file under ``<landing>/<source>/``, whatever its type, in path order, except hidden ones: a
    file or folder whose name starts with ``.`` is one still being written (the convention: write it under a
    hidden name, then rename it into place), as Spark and Hadoop take it too."""
    found = []
    # Paths are strings here: a folder holds thousands of files (one per source and hour), and building a Path
    # for each took as long as the system calls (half the listing; measured on 4,320 files, 75 -> 41 ms)
    root = landing.resolve()  # once: a file below it needs resolving only when it is a symlink
    for source in SOURCES:
        folder = root / source
        if not folder.is_dir():
            continue
        batch = []
        for directory, subfolders, names in os.walk(folder):  # like rglob: symlinked folders are not entered
            subfolders[:] = [d for d in subfolders if not d.startswith(".")]
            for name in names:
                if name.startswith("."):
                    continue
                path = os.path.join(directory, name)  # noqa: PTH118
                info = os.lstat(path)  # one system call per file, where is_file() + stat() + resolve() made several
                if stat.S_ISLNK(info.st_mode):
                    path = os.path.realpath(path)
                    try:
                        info = os.stat(path)  # noqa: PTH116
                    except OSError:  # a dangling link
                        continue
                if stat.S_ISREG(info.st_mode):
                    batch.append(LandingFile(path, source, info.st_size, info.st_mtime))
        found += sorted(batch, key=lambda f: f.path.split(os.sep))  # noqa: PTH206
    return found


def files_to_read(conn: duckdb.DuckDBPyConnection, files: list[LandingFile], window: TimeWindow) -> list[LandingFile]:
    """New or changed files, and indexed files whose valid events overlap the window.

    A file recorded as unreadable or not read has no events: it is read again only once it changes."""
    if scalar(
        conn,
        "SELECT EXISTS (SELECT 1 FROM ops.landing_files WHERE valid_events > 0) "
        "AND NOT EXISTS (SELECT 1 FROM ops.event_deliveries)",
    ):
        return list(files)  # a warehouse from before the deliveries index: every file is read once to build it
    # the overlap is decided in SQL: a timestamp out of Python's range (an index written before such events were
    # quarantined) must not reach a comparison here
    known = {
        row[0]: row[1:]
        for row in conn.execute(
            "SELECT file, size_bytes, modified_at, coalesce(min_occurred_at < $window_end "
            "AND max_occurred_at >= $window_start, false) FROM ops.landing_files",
            {"window_start": window.start, "window_end": window.end},
        ).fetchall()
    }
    chosen = []
    for f in files:
        seen = known.get(f.path)
        if seen is None or seen[0] != f.size_bytes or seen[1] != f.modified_at or seen[2]:
            chosen.append(f)
    return chosen


def removed_files(conn: duckdb.DuckDBPyConnection, files: list[LandingFile]) -> list[str]:
    """Files the index knows that are no longer in the landing folder."""
    present = {f.path for f in files}
    indexed = [r[0] for r in conn.execute("SELECT file FROM ops.landing_files ORDER BY file").fetchall()]
    return [file for file in indexed if file not in present]


def parse_landing_files(conn: duckdb.DuckDBPyConnection, files: list[LandingFile], accepted: TimeWindow) -> ParsedFiles:
    """Parse ``files`` into the temp view ``parsed_lines``; a line whose ``occurred_at`` is outside ``accepted``
    is quarantined. Files of a type that is not read, or that cannot be read, are returned as unreadable.

    A file's line numbers come from a row_number() over its read, which keeps the parse of that file on one
    thread, so the files are split into as many groups of about equal size as DuckDB has threads, and each group
    is parsed by its own statement, on its own cursor, at the same time. A group whose statement fails is parsed
    again file by file, so that only the file that fails is left out. The tables live in an in-memory database
    attached for this ingestion alone (its own name: another ingestion in the process has its own), which every
    cursor of the connection sees."""
    unreadable = [
        UnreadableFile(f, JSON_DOCUMENT_REASON if f.path.lower().endswith(".json") else UNSUPPORTED_REASON)
        for f in files
        if f.format == "unsupported"
    ]
    candidates = [f for f in files if f.format != "unsupported"]
    with ThreadPoolExecutor(max(1, min(4, len(candidates)))) as pool:
        problems = list(pool.map(_gzip_problem, candidates))
    unreadable += [UnreadableFile(f, p) for f, p in zip(candidates, problems, strict=True) if p]
    readable = [f for f, p in zip(candidates, problems, strict=True) if not p]

    database = f"ingest_parse_{uuid.uuid4().hex[:12]}"
    conn.execute(f"ATTACH ':memory:' AS {database}")
    threads = int(scalar(conn, "SELECT current_setting('threads')"))
    groups = _balanced_groups(readable, max(1, min(threads, len(readable))))
    bounds = [accepted.start, accepted.end]

    def parse_group(cursor: duckdb.DuckDBPyConnection, table: str, group: list[LandingFile]) -> _GroupParse:
        cursor.execute("SET TimeZone = 'UTC'")
        try:
            _parse_into(cursor, table, group, bounds)
            return _GroupParse([table], [])
        except duckdb.Error:
            pass
        done = _GroupParse([], [])
        for i, f in enumerate(group):
            try:
                _parse_into(cursor, f"{table}_{i}", [f], bounds)
            except duckdb.Error:
                try:  # line by line: a line that cannot be decoded is quarantined alone
                    _parse_into(cursor, f"{table}_{i}", [f], bounds, rejects=f.format == "jsonl")
                except duckdb.Error as error:
                    done.unreadable.append(UnreadableFile(f, _unreadable_reason(error)))
                    continue
            done.tables.append(f"{table}_{i}")
        return done

    cursors: list[duckdb.DuckDBPyConnection] = []
    try:
        cursors += [conn.cursor() for _ in groups]  # made here, each then used by one thread only
        names = [f"{database}.parsed_{i}" for i in range(len(groups))]
        with ThreadPoolExecutor(len(groups)) as pool:
            parses = list(pool.map(parse_group, cursors, names, groups))
        tables = [t for p in parses for t in p.tables]
        unreadable += [u for p in parses for u in p.unreadable]
        if not tables:  # nothing readable: an empty parse keeps the view's columns
            tables.append(f"{database}.parsed_empty")
            _parse_into(conn, tables[0], [], bounds)
        # (part, part_row) names a parsed line even when two landing entries are one file (symlinks)
        union = " UNION ALL ".join(
            f"SELECT *, {i} AS part, rowid AS part_row FROM {table}"  # noqa: S608 (names made above)
            for i, table in enumerate(tables)
        )
        conn.execute(f"CREATE OR REPLACE TEMP VIEW parsed_lines AS {union}")
    except BaseException:
        drop_parsed(conn, database)
        raise
    finally:
        for cursor in cursors:
            cursor.close()
    return ParsedFiles(database, sorted(unreadable, key=lambda u: u.file.path))


@dataclass
class _GroupParse:
    tables: list[str]
    unreadable: list[UnreadableFile]


def _parse_into(
    cursor: duckdb.DuckDBPyConnection,
    table: str,
    files: list[LandingFile],
    bounds: list[datetime],
    *,
    rejects: bool = False,
) -> None:
    """Parse ``files`` into ``table``. With ``rejects``, lines the CSV reader rejects (encoding, size) are added
    as quarantined lines and the line numbers after them corrected (the reader drops a rejected line)."""
    params: list[Any] = []
    for f in files:
        params += [f.path, f.source, f.path]
    sources = ", ".join(f"'{s}'" for s in SOURCES)
    (statement,) = split_statements(
        render_sql(
            "ingest/parse_events.sql",
            files=files,
            sources=sources,
            table=table,
            max_line=MAX_LINE_BYTES,
            rejects=rejects,
        )
    )
    cursor.execute(f"DROP TABLE IF EXISTS {table}")  # what a failed or an earlier attempt left
    if not rejects:
        cursor.execute(statement, [*params, *bounds])
        return
    cursor.execute("DROP TABLE IF EXISTS reject_errors")
    cursor.execute("DROP TABLE IF EXISTS reject_scans")
    cursor.execute(statement, [*params, *bounds])
    rejected = cursor.execute(
        "SELECT s.file_path, e.line, e.error_type, e.error_message, ltrim(left(e.csv_line, 4001), chr(10) || chr(13)) "
        "FROM reject_errors e JOIN reject_scans s USING (scan_id, file_id) ORDER BY s.file_path, e.line"
    ).fetchall()
    if not rejected:
        return
    folder_source = {f.path: f.source for f in files}
    reasons = {k: v.format(max=MAX_LINE_BYTES) for k, v in _REJECTED_LINE_REASONS.items()}
    frame = pl.DataFrame(
        {
            "file": [r[0] for r in rejected],
            "folder_source": [folder_source[r[0]] for r in rejected],
            "line": [r[1] for r in rejected],
            "reason": [reasons.get(r[2], f"unreadable line: {r[3]}") for r in rejected],
            "text": [r[4] for r in rejected],
        },
        schema={
            "file": pl.String,
            "folder_source": pl.String,
            "line": pl.Int64,
            "reason": pl.String,
            "text": pl.String,
        },
    )
    register_frame(cursor, "rejected_lines", frame)
    run_script(cursor, "ingest/rejected_lines.sql", table=table)


def _gzip_problem(f: LandingFile) -> str | None:
    """Why a gzip landing file cannot be read to its end, or None. DuckDB reads a truncated stream up to the cut
    without an error, so the stream is checked here (a second decompression, in a thread, zlib without the GIL)."""
    if f.compression != "gzip":
        return None
    try:
        with gzip.open(f.path, "rb") as stream:
            while stream.read(1 << 22):
                pass
    except EOFError:
        return "truncated gzip stream (it ends before its end-of-stream marker): file not read"
    except (gzip.BadGzipFile, zlib.error, OSError) as error:
        return f"not a readable gzip file ({error}): file not read"
    return None


def _unreadable_reason(error: duckdb.Error) -> str:
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return f"unreadable file ({first_line[:500]}): file not read"


def drop_parsed(conn: duckdb.DuckDBPyConnection, database: str) -> None:
    """Free the parse of an ingestion (the view and the database that holds its tables)."""
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
