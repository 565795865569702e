"""Landing files as they arrive: which hour partitions the new, changed and removed files touch, so that a run of
those hours can be requested at once (the landing files sensor, orchestration/sensors.py).

The state is what was seen of each file (size, modification time, the hours its valid events fall in). A file
is read the way ingestion reads it (:func:`metricstore.landing.parse_landing_files`, in a database of its own), so
the hours are those the runs will write. Files still being written are not read half-way: hidden files are not
landing files until they are renamed into place (:func:`metricstore.landing.find_landing_files`), and a file
modified less than ``settle_seconds`` ago is left for a later look.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from metricstore.ingest import accepted_occurrences
from metricstore.landing import LandingFile, drop_parsed, find_landing_files, parse_landing_files
from metricstore.windows import HOUR, TimeWindow, floor_hour, partition_key_for

# How long a file must be left unchanged before it is read, for writers that write in place.
SETTLE_SECONDS = 2.0
# Files read per look: a landing folder that appears all at once is taken in several looks, each short.
MAX_FILES_PER_LOOK = 2000
# The hours a file already ingested is taken to touch, from its first to its last event (at most a week of them).
MAX_HOURS_PER_FILE = 168


@dataclass(frozen=True)
class SeenFile:
    size_bytes: int
    modified_at: float
    hours: tuple[str, ...]  # partition keys of its valid events

    def as_json(self) -> list[object]:
        return [self.size_bytes, self.modified_at, list(self.hours)]

    @classmethod
    def from_json(cls, value: list[object]) -> SeenFile:
        size, modified, hours = value
        assert isinstance(size, int) and isinstance(modified, int | float) and isinstance(hours, list)
        return cls(size, float(modified), tuple(str(h) for h in hours))


@dataclass
class Arrivals:
    """What changed since the last look."""

    seen: dict[str, SeenFile]  # the state after this look
    # partition key -> the files that touch it (new, changed or removed)
    hours: dict[str, list[str]] = field(default_factory=dict)
    settling: list[str] = field(default_factory=list)  # changed, but too recently: looked at again later
    deferred: int = 0  # changed and settled, but beyond this look's file limit

    def touch(self, hours: tuple[str, ...] | list[str], path: str) -> None:
        for key in hours:
            self.hours.setdefault(key, []).append(path)


def look(
    landing: Path,
    seen: Mapping[str, SeenFile],
    now: datetime,
    *,
    settle_seconds: float = SETTLE_SECONDS,
    max_files: int = MAX_FILES_PER_LOOK,
) -> Arrivals:
    """The hours that the files changed since ``seen`` touch. A changed file touches the hours of its events now
    and those it had before (its events may have left them); a removed file, those it had. A file with no valid
    event (every line bad, or unreadable) touches the current hour, whose run quarantines it with its reason."""
    files = find_landing_files(landing)
    result = Arrivals(seen=dict(seen))
    present = {f.path for f in files}
    for path in sorted(set(seen) - present):
        result.touch(seen[path].hours, path)
        del result.seen[path]
    clock = now.replace(tzinfo=UTC).timestamp()
    settled = []
    for f in files:
        if not _changed(f, seen.get(f.path)):
            continue
        if clock - f.modified_at >= settle_seconds:
            settled.append(f)
        else:
            result.settling.append(f.path)
    result.settling.sort()
    result.deferred = max(0, len(settled) - max_files)
    current = partition_key_for(floor_hour(now))
    for f, hours in file_hours(settled[:max_files], now).items():
        path = f.path
        before = seen.get(path)
        result.touch(sorted(set(hours) | set(before.hours if before else ())) or [current], path)
        result.seen[path] = SeenFile(f.size_bytes, f.modified_at, tuple(hours))
    return result


def ingested(published: Path) -> dict[str, SeenFile]:
    """The files the last published run had read (its ``ops.landing_files``), as a first look's state: a sensor
    started beside a warehouse that is up to date requests nothing. Empty when nothing is published yet."""
    if not published.is_file():
        return {}
    with duckdb.connect(str(published), read_only=True) as conn:
        rows = conn.execute(
            "SELECT file, size_bytes, modified_at, min_occurred_at, max_occurred_at FROM ops.landing_files"
        ).fetchall()
    seen = {}
    for path, size, modified, first, last in rows:
        hours: list[str] = []
        if first is not None and last is not None:
            hour, last_hour = floor_hour(first), floor_hour(last)
            while hour <= last_hour and len(hours) < MAX_HOURS_PER_FILE:
                hours.append(partition_key_for(hour))
                hour += HOUR
        seen[path] = SeenFile(size, modified, tuple(hours))
    return seen


def file_hours(files: list[LandingFile], now: datetime) -> dict[LandingFile, list[str]]:
    """The partition keys of each file's valid events, read as ingestion reads them."""
    if not files:
        return {}
    hours: dict[LandingFile, list[str]] = {f: [] for f in files}
    by_path = {f.path: f for f in files}
    accepted = accepted_occurrences(TimeWindow(floor_hour(now), floor_hour(now) + HOUR), now)
    with duckdb.connect() as conn:
        parsed = parse_landing_files(conn, files, accepted)
        try:
            rows = conn.execute(
                "SELECT file, list(DISTINCT date_trunc('hour', occurred_at) ORDER BY date_trunc('hour', occurred_at)) "
                "FROM parsed_lines WHERE reason IS NULL GROUP BY file"
            ).fetchall()
        finally:
            drop_parsed(conn, parsed.database)
    for path, starts in rows:
        if path in by_path:
            hours[by_path[path]] = [partition_key_for(start) for start in starts]
    return hours


def _changed(f: LandingFile, before: SeenFile | None) -> bool:
    return before is None or (before.size_bytes, before.modified_at) != (f.size_bytes, f.modified_at)
