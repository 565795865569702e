"""Ingestion that bends but never breaks (issue 9): a bad file, line or timestamp harms only itself, nothing is
skipped without a record, one event_id is one event in any run order, and a removed file's values leave."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from metricstore import landing as landing_module
from metricstore import quality
from metricstore.aggregate import aggregate_window
from metricstore.catalog import write_catalog_table
from metricstore.catalog_loader import MetricCatalog, load_catalog
from metricstore.evaluation.run import evaluate_window
from metricstore.extract import extract_window
from metricstore.ingest import ingest_window
from metricstore.landing import JSON_DOCUMENT_REASON, UNSUPPORTED_REASON
from metricstore.warehouse import connect
from metricstore.windows import TimeWindow
from tests.conftest import event, hour, write_landing

H10 = TimeWindow(hour("2026-11-20 10:00"), hour("2026-11-20 11:00"))
H11 = TimeWindow(hour("2026-11-20 11:00"), hour("2026-11-20 12:00"))
H12 = TimeWindow(hour("2026-11-20 12:00"), hour("2026-11-20 13:00"))
T10 = "2026-11-20T10:15:00Z"
T11 = "2026-11-20T11:15:00Z"


def _events(conn: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    return conn.execute("SELECT event_id, file, line FROM raw.events ORDER BY event_id").fetchall()


def _quarantine(conn: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    return conn.execute("SELECT file, line, reason FROM ops.quarantine ORDER BY file, line").fetchall()


def _good_neighbour(landing: Path) -> str:
    """Another file of the same hour, and one of the next hour: both must land whatever the bad file does."""
    write_landing(landing, "world_events/w.jsonl", [event("w10", T10, source="world_events")])
    write_landing(landing, "world_events/w11.jsonl", [event("w11", T11, source="world_events")])
    return str((landing / "world_events" / "w.jsonl").resolve())


def _next_hour_succeeds(conn: duckdb.DuckDBPyConnection, landing: Path) -> None:
    result = ingest_window(conn, landing, H11)
    assert result.events_ingested == 1
    assert conn.execute("SELECT count(*) FROM raw.events WHERE event_id = 'w11'").fetchone() == (1,)


# --- item 1: unreadable lines and files -------------------------------------------------------------------------


def test_a_line_of_invalid_utf8_is_quarantined_alone_and_its_neighbours_keep_their_lines(
    conn: duckdb.DuckDBPyConnection, landing: Path
) -> None:
    neighbour = _good_neighbour(landing)
    path = landing / "call_intelligence" / "a.jsonl"
    path.parent.mkdir(parents=True)
    lines = [
        json.dumps(event("e1", T10, id="c1")).encode(),
        b"",
        b'{"event_id": "bad", "name": "\xff\xfe"}',
        b"",
        json.dumps(event("e5", T10, id="c5")).encode(),
        b'{"x": "\xc3"}',
        json.dumps(event("e7", T10, id="c7")).encode(),
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    result = ingest_window(conn, landing, H10)

    file = str(path.resolve())
    assert _events(conn) == [("e1", file, 1), ("e5", file, 5), ("e7", file, 7), ("w10", neighbour, 1)]
    assert _quarantine(conn) == [(file, 3, "line is not valid UTF-8"), (file, 6, "line is not valid UTF-8")]
    assert (result.events_ingested, result.quarantined) == (4, 2)
    assert conn.execute(
        "SELECT lines, valid_events, quarantined FROM ops.landing_files WHERE file = ?", [file]
    ).fetchone() == (5, 3, 2)
    _next_hour_succeeds(conn, landing)


def test_a_line_over_the_maximum_line_size_is_quarantined_alone(
    conn: duckdb.DuckDBPyConnection, landing: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(landing_module, "MAX_LINE_BYTES", 2048)  # the real 64 MiB would make a slow test
    neighbour = _good_neighbour(landing)
    path = write_landing(
        landing,
        "call_intelligence/a.jsonl.gz",
        [event("e1", T10, id="c1"), event("long", T10, id="c2", summary="x" * 5000), event("e3", T10, id="c3")],
    )
    ingest_window(conn, landing, H10)
    file = str(path.resolve())
    assert _events(conn) == [("e1", file, 1), ("e3", file, 3), ("w10", neighbour, 1)]
    assert _quarantine(conn) == [(file, 2, "line longer than the maximum line size of 2048 bytes")]
    _next_hour_succeeds(conn, landing)


def _write_gzip_truncated(landing: Path) -> Path:
    lines = [json.dumps(event(f"t{i}", T10, id=f"ct{i}", summary=f"s{i}" * 50)) for i in range(200)]
    whole = gzip.compress(("\n".join(lines) + "\n").encode())
    path = landing / "call_intelligence" / "truncated.jsonl.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(whole[: len(whole) // 2])
    return path


@pytest.mark.parametrize(
    ("name", "content", "reason_start"),
    [
        pytest.param("corrupt.parquet", b"PAR1 this is not parquet PAR1", "unreadable file (", id="corrupt-parquet"),
        pytest.param("plain.jsonl.gz", b'{"event_id": "x"}\n', "not a readable gzip file (", id="plain-gz"),
        pytest.param("truncated.jsonl.gz", None, "truncated gzip stream", id="truncated-gz"),
    ],
)
def test_an_unreadable_file_is_recorded_once_and_every_other_file_lands(
    conn: duckdb.DuckDBPyConnection, landing: Path, name: str, content: bytes | None, reason_start: str
) -> None:
    neighbour = _good_neighbour(landing)
    same_folder = write_landing(landing, "call_intelligence/ok.jsonl", [event("ok", T10, id="c_ok")])
    if content is None:
        bad = _write_gzip_truncated(landing)
    else:
        bad = landing / "call_intelligence" / name
        bad.write_bytes(content)
    result = ingest_window(conn, landing, H10)

    assert _events(conn) == [("ok", str(same_folder.resolve()), 1), ("w10", neighbour, 1)]
    ((file, line, reason),) = _quarantine(conn)
    assert (file, line) == (str(bad.resolve()), 0)
    assert reason.startswith(reason_start) and reason.endswith("file not read")
    assert (result.files_unreadable, result.quarantined) == (1, 1)
    assert conn.execute(
        "SELECT lines, valid_events, quarantined, min_occurred_at FROM ops.landing_files WHERE file = ?", [file]
    ).fetchone() == (0, 0, 1, None)

    # not read again while it is unchanged; the next hour still runs
    again = ingest_window(conn, landing, H10)
    assert again.files_read == 2 and again.files_unreadable == 0
    _next_hour_succeeds(conn, landing)
    assert len(_quarantine(conn)) == 1

    # once the file is whole (rewritten: it changed), it lands
    stat = bad.stat()
    write_landing(landing, f"call_intelligence/{bad.name}", [event("fixed", T10, id="c_fixed")])
    os.utime(bad, (stat.st_atime, stat.st_mtime + 10))
    ingest_window(conn, landing, H10)
    assert [r[0] for r in _events(conn)] == ["fixed", "ok", "w10", "w11"]
    assert _quarantine(conn) == []


# --- item 2: extensions -----------------------------------------------------------------------------------------


def test_extensions_match_in_any_case_ndjson_is_read_and_other_files_are_reported_once(
    conn: duckdb.DuckDBPyConnection, landing: Path
) -> None:
    write_landing(landing, "world_events/upper.JSONL", [event("upper", T10, source="world_events")])
    write_landing(landing, "world_events/n.ndjson", [event("nd", T10, source="world_events")])
    # conftest's write_landing picks the format from a lower-case name: rename after writing
    gz = write_landing(landing, "world_events/n2.ndjson.gz", [event("ndgz", T10, source="world_events")])
    gz.rename(gz.with_name("n2.NDJSON.GZ"))
    pq = write_landing(landing, "world_events/p.parquet", [event("pq", T10, source="world_events")])
    pq.rename(pq.with_name("p.Parquet"))
    write_landing(landing, "world_events/doc.json", [event("doc", T10, source="world_events")])
    (landing / "world_events" / "z.jsonl.zst").write_bytes(b"(\xb5/\xfd zstd")
    (landing / "world_events" / "table.csv").write_text("event_id,occurred_at\nx,2026-11-20\n")
    write_landing(landing, "world_events/w11.jsonl", [event("w11", T11, source="world_events")])
    result = ingest_window(conn, landing, H10)

    assert [r[0] for r in _events(conn)] == ["nd", "ndgz", "pq", "upper"]
    folder = (landing / "world_events").resolve()
    assert _quarantine(conn) == [
        (str(folder / "doc.json"), 0, JSON_DOCUMENT_REASON),
        (str(folder / "table.csv"), 0, UNSUPPORTED_REASON),
        (str(folder / "z.jsonl.zst"), 0, UNSUPPORTED_REASON),
    ]
    assert UNSUPPORTED_REASON == (
        "unsupported file type: not read (landing files are .jsonl.gz, .ndjson.gz, .jsonl, .ndjson, .parquet)"
    )
    assert (result.files_seen, result.files_read, result.files_unreadable) == (8, 8, 3)

    # recorded once: not read again while unchanged, the next hour runs
    eleven = ingest_window(conn, landing, H11)
    assert (eleven.files_read, eleven.events_ingested) == (1, 1)
    assert len(_quarantine(conn)) == 3


# --- item 3: timestamps -----------------------------------------------------------------------------------------


def test_timestamps_outside_the_partitions_are_quarantined_per_line(
    conn: duckdb.DuckDBPyConnection, landing: Path
) -> None:
    neighbour = _good_neighbour(landing)
    stamps = {
        "year0": "0000-01-01T00:00:00Z",
        "year10000": "10000-01-01T00:00:00Z",
        "epoch": "1970-01-01T00:00:00Z",
        "eve": "2024-12-31T23:59:59Z",
        "far": "2099-01-01T00:00:00Z",
    }
    path = write_landing(
        landing,
        "call_intelligence/a.jsonl",
        [event("good", T10, id="c0"), *(event(k, v, id=k) for k, v in stamps.items())],
    )
    result = ingest_window(conn, landing, H10)

    file = str(path.resolve())
    assert _events(conn) == [("good", file, 1), ("w10", neighbour, 1)]
    before = "is before the first partition (2025-01-01 00:00 UTC)"
    assert _quarantine(conn) == [
        (file, 2, f"occurred_at 0000-01-01T00:00:00Z {before}"),
        (
            file,
            3,
            f"occurred_at 10000-01-01T00:00:00Z is too far in the future (accepted until {_accepted_until(conn)} UTC)",
        ),
        (file, 4, f"occurred_at 1970-01-01T00:00:00Z {before}"),
        (file, 5, f"occurred_at 2024-12-31T23:59:59Z {before}"),
        (
            file,
            6,
            f"occurred_at 2099-01-01T00:00:00Z is too far in the future (accepted until {_accepted_until(conn)} UTC)",
        ),
    ]
    assert result.quarantined == 5
    assert conn.execute(
        "SELECT valid_events, quarantined, min_occurred_at, max_occurred_at FROM ops.landing_files WHERE file = ?",
        [file],
    ).fetchone()[:2] == (1, 5)
    # the file holds nothing for 11:00 and is not read for it; the next hours run
    _next_hour_succeeds(conn, landing)
    assert ingest_window(conn, landing, H12).files_read == 0


def _accepted_until(conn: duckdb.DuckDBPyConnection) -> str:
    """The bound the run used: a day after the later of the window end and the time of the run (its read_at)."""
    read_at = conn.execute("SELECT max(read_at) FROM ops.landing_files").fetchone()[0]
    return f"{read_at + timedelta(days=1):%Y-%m-%d %H:%M}"


def test_an_index_written_with_an_out_of_range_timestamp_does_not_break_files_to_read(
    conn: duckdb.DuckDBPyConnection, landing: Path
) -> None:
    path = write_landing(landing, "call_intelligence/a.jsonl", [event("good", T10, id="c0")])
    ingest_window(conn, landing, H10)
    # what a warehouse made before the bound held: a year-10000 max in the file index
    conn.execute("UPDATE ops.landing_files SET max_occurred_at = '10000-01-01'::TIMESTAMP")
    result = ingest_window(conn, landing, H11)
    assert result.files_read == 1  # re-read: the index is corrected
    assert conn.execute(
        "SELECT max_occurred_at FROM ops.landing_files WHERE file = ?", [str(path.resolve())]
    ).fetchone() == (hour("2026-11-20 10:15"),)


# --- item 4: exactly once across hours --------------------------------------------------------------------------

RUN_ORDERS = {
    "hourly": [H10, H11, H12],
    "reverse": [H12, H11, H10],
    "backfill": [TimeWindow(H10.start, H12.end)],
    "late-first-copy": [H11, "arrive", H12, H10],  # the 10:30 copy lands after 11:00 ran
}


def _deliver(landing: Path, *, early: bool = True, late: bool = True) -> None:
    if late:
        write_landing(
            landing,
            "call_intelligence/b.jsonl",
            [
                event("dup", "2026-11-20T11:05:00Z", id="c_dup", duration=2),  # another hour: a clash, recorded
                event("same", "2026-11-20T12:30:00Z", id="c_same"),  # the same content twice: silent
                event("b_only", "2026-11-20T11:10:00Z", id="c_b"),
            ],
        )
    if early:
        write_landing(
            landing,
            "call_intelligence/a.jsonl",
            [event("dup", "2026-11-20T10:30:00Z", id="c_dup", duration=1), event("a_only", T10, id="c_a")],
        )
        write_landing(landing, "call_intelligence/c.jsonl", [event("same", "2026-11-20T12:30:00Z", id="c_same")])


@pytest.mark.parametrize("order", list(RUN_ORDERS))
def test_one_event_id_is_one_event_whatever_the_run_order(tmp_path: Path, order: str) -> None:
    landing = tmp_path / "landing"
    conn = connect(tmp_path / "warehouse.duckdb")
    steps = RUN_ORDERS[order]
    _deliver(landing, early="arrive" not in steps)
    for step in steps:
        if step == "arrive":
            _deliver(landing, late=False)
        else:
            assert isinstance(step, TimeWindow)
            ingest_window(conn, landing, step)

    folder = (landing / "call_intelligence").resolve()
    a, b = (str(folder / n) for n in ("a.jsonl", "b.jsonl"))
    assert conn.execute("SELECT event_id, file, line, occurred_at FROM raw.events ORDER BY event_id").fetchall() == [
        ("a_only", a, 2, hour("2026-11-20 10:15")),
        ("b_only", b, 3, hour("2026-11-20 11:10")),
        ("dup", a, 1, hour("2026-11-20 10:30")),
        ("same", b, 2, hour("2026-11-20 12:30")),
    ]
    assert _quarantine(conn) == [(b, 1, f"duplicate event_id with different content (first in {a}:1)")]
    whole = TimeWindow(H10.start, H12.end)
    assert quality.duplicate_event_ids(conn, whole) == 0
    conn.close()


def test_the_uniqueness_check_looks_across_the_whole_table(conn: duckdb.DuckDBPyConnection, landing: Path) -> None:
    write_landing(landing, "call_intelligence/a.jsonl", [event("e1", T10, id="c1"), event("e2", T10, id="c2")])
    ingest_window(conn, landing, H10)
    assert quality.duplicate_event_ids(conn, H10) == 0
    # a copy of e1 in another hour (as hourly runs stored it before exactly-once): seen from either window
    conn.execute(
        "INSERT INTO raw.events SELECT * REPLACE (occurred_at + INTERVAL 1 HOUR AS occurred_at) "
        "FROM raw.events WHERE event_id = 'e1'"
    )
    assert quality.duplicate_event_ids(conn, H10) == 1
    assert quality.duplicate_event_ids(conn, H11) == 1
    assert quality.duplicate_event_ids(conn, H12) == 0


# --- item 5: a removed landing file takes its values with it ----------------------------------------------------

STATIC = {
    "key": "call_duration",
    "name": "Call duration",
    "metric_type": "numerical",
    "extraction_mode": "static",
    "extract_path": "$.duration",
    "aggregation": "sum",
}
MOOD = {"key": "mood", "name": "Mood", "metric_type": "categorical", "extraction_mode": "ai_sentiment"}


def _catalog(tmp_path: Path) -> MetricCatalog:
    root = tmp_path / "defs"
    (root / "builtin").mkdir(parents=True)
    (root / "workspaces" / "ws_test").mkdir(parents=True)
    (root / "workspaces" / "ws_test" / "m.yaml").write_text(yaml.safe_dump({"metrics": [STATIC, MOOD]}))
    return load_catalog(root)


def _run(conn: duckdb.DuckDBPyConnection, landing: Path, catalog: MetricCatalog, window: TimeWindow) -> None:
    ingest_window(conn, landing, window)
    extract_window(conn, catalog, window)
    evaluate_window(conn, catalog, window, client_factory=lambda: None)
    aggregate_window(conn, catalog, window)


def _calls(landing: Path, name: str, at: str, durations: list[int]) -> Path:
    transcript = [{"role": "user", "content": "I am very happy, thank you, great service"}]
    return write_landing(
        landing,
        f"call_intelligence/{name}.jsonl",
        [
            event(f"{name}{i}", at, id=f"c_{name}{i}", duration=d, transcription=transcript)
            for i, d in enumerate(durations)
        ],
    )


def _state(conn: duckdb.DuckDBPyConnection) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    values = conn.execute(
        "SELECT metric_key, entity_id, value_num, value_text FROM metrics.metric_values ORDER BY ALL"
    ).fetchall()
    aggregates = conn.execute(
        "SELECT metric_key, granularity, period_start, value, sample_count FROM metrics.metric_aggregates ORDER BY ALL"
    ).fetchall()
    return values, aggregates


def test_rerunning_an_hour_after_a_file_was_removed_removes_its_events_and_values(tmp_path: Path) -> None:
    catalog = _catalog(tmp_path)
    with_file, without_file = tmp_path / "with", tmp_path / "without"
    for case in (with_file, without_file):
        _calls(case / "landing", "keep", T10, [10, 20])
        _calls(case / "landing", "k11", T11, [7])
    removed = _calls(with_file / "landing", "gone", "2026-11-20T10:40:00Z", [100, 200])

    conn = connect(with_file / "warehouse.duckdb")
    write_catalog_table(conn, catalog)
    _run(conn, with_file / "landing", catalog, H10)
    assert conn.execute("SELECT count(*) FROM metrics.metric_values WHERE entity_id LIKE 'c_gone%'").fetchone() == (4,)
    removed.unlink()
    _run(conn, with_file / "landing", catalog, H10)
    _run(conn, with_file / "landing", catalog, H11)  # the next hour still succeeds

    reference = connect(without_file / "warehouse.duckdb")
    write_catalog_table(reference, catalog)
    _run(reference, without_file / "landing", catalog, H10)
    _run(reference, without_file / "landing", catalog, H11)

    values, aggregates = _state(conn)
    assert (values, aggregates) == _state(reference)
    assert [v[:2] for v in values if v[0] == "mood"] == [("mood", "c_k110"), ("mood", "c_keep0"), ("mood", "c_keep1")]
    assert ("call_duration", "daily", hour("2026-11-20 00:00"), 37.0, 3) in aggregates
    assert conn.execute("SELECT count(*) FROM raw.events WHERE file = ?", [str(removed.resolve())]).fetchone() == (0,)
    assert conn.execute("SELECT count(*) FROM ops.landing_files").fetchone() == (2,)
    assert conn.execute("SELECT count(*) FROM ops.event_deliveries").fetchone() == (3,)
    conn.close()
    reference.close()


def test_rerunning_an_hour_keeps_the_values_of_its_unchanged_events_and_drops_those_of_a_changed_one(
    tmp_path: Path,
) -> None:
    catalog = _catalog(tmp_path)
    landing = tmp_path / "landing"
    _calls(landing, "keep", T10, [10, 20])
    conn = connect(tmp_path / "warehouse.duckdb")
    write_catalog_table(conn, catalog)
    _run(conn, landing, catalog, H10)

    def values() -> list[tuple[Any, ...]]:
        return conn.execute(
            "SELECT metric_key, entity_id, evaluated_at FROM metrics.metric_values ORDER BY ALL"
        ).fetchall()

    before = values()
    assert [v[:2] for v in before] == [
        ("call_duration", "c_keep0"),
        ("call_duration", "c_keep1"),
        ("mood", "c_keep0"),
        ("mood", "c_keep1"),
    ]
    assert ingest_window(conn, landing, H10).files_read == 1  # the hour's file is read again...
    assert values() == before  # ...and its events, stored again unchanged, keep their values (no new AI call)
    _calls(landing, "keep", T10, [10, 25])  # the second call's document changes
    ingest_window(conn, landing, H10)
    assert values() == [v for v in before if v[1] == "c_keep0"]
    conn.close()


def test_a_file_removed_while_another_hour_runs_leaves_with_its_values(tmp_path: Path) -> None:
    catalog = _catalog(tmp_path)
    landing = tmp_path / "landing"
    _calls(landing, "keep", T10, [10])
    removed = _calls(landing, "gone", "2026-11-20T10:40:00Z", [100])
    _calls(landing, "k11", T11, [7])
    conn = connect(tmp_path / "warehouse.duckdb")
    write_catalog_table(conn, catalog)
    _run(conn, landing, catalog, H10)
    removed.unlink()
    result = ingest_window(conn, landing, H11)
    assert (result.files_removed, result.events_removed) == (1, 1)
    extract_window(conn, catalog, H11)
    evaluate_window(conn, catalog, H11, client_factory=lambda: None)
    aggregate_window(conn, catalog, H11)  # recomputes 10:00 too: it was marked stale
    assert conn.execute(
        "SELECT value, sample_count FROM metrics.metric_aggregates WHERE metric_key = 'call_duration' "
        "AND granularity = 'hourly' AND period_start = ?",
        [H10.start],
    ).fetchone() == (10.0, 1)
    assert conn.execute("SELECT count(*) FROM metrics.metric_values WHERE entity_id = 'c_gone0'").fetchone() == (0,)
    conn.close()


def test_a_warehouse_without_the_deliveries_index_reads_every_file_once_to_build_it(
    conn: duckdb.DuckDBPyConnection, landing: Path
) -> None:
    write_landing(landing, "call_intelligence/a.jsonl", [event("e10", T10, id="c1"), event("e11", T11, id="c2")])
    write_landing(landing, "world_events/w.jsonl", [event("w11", T11, source="world_events")])
    ingest_window(conn, landing, H10)
    ingest_window(conn, landing, H11)
    conn.execute("DELETE FROM ops.event_deliveries")  # as a warehouse made before the index holds it
    assert ingest_window(conn, landing, H12).files_read == 2
    assert conn.execute("SELECT count(*) FROM ops.event_deliveries").fetchone() == (3,)
    assert ingest_window(conn, landing, H12).files_read == 0
    assert [r[0] for r in _events(conn)] == ["e10", "e11", "w11"]


def test_line_numbers_hold_around_many_undecodable_lines_in_a_large_gzip_file(
    conn: duckdb.DuckDBPyConnection, landing: Path
) -> None:
    lines: list[bytes] = []
    expected_events, expected_bad = [], []
    for n in range(1, 20_001):
        if n % 3_001 == 0:
            lines.append(b'{"event_id": "bad \xff"}')
            expected_bad.append(n)
        elif n % 997 == 0:
            lines.append(b"")
        else:
            lines.append(json.dumps(event(f"e{n}", T10, id=f"c{n}", transcript="x" * (n % 200))).encode())
            expected_events.append(n)
    path = landing / "call_intelligence" / "big.jsonl.gz"
    path.parent.mkdir(parents=True)
    path.write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))
    for i in range(3):  # good files parsed in the same groups
        write_landing(landing, f"call_intelligence/ok{i}.jsonl", [event(f"ok{i}", T10, id=f"ok{i}")])
    result = ingest_window(conn, landing, H10)

    file = str(path.resolve())
    got = conn.execute("SELECT event_id, line FROM raw.events WHERE file = ?", [file]).fetchall()
    assert sorted(got, key=lambda r: r[1]) == [(f"e{n}", n) for n in expected_events]
    assert [line for _file, line, _reason in _quarantine(conn)] == expected_bad
    assert result.events_ingested == len(expected_events) + 3


KILLED_INGEST = """
import sys
from pathlib import Path
from metricstore.ingest import ingest_window
from metricstore.warehouse import connect
from metricstore.windows import TimeWindow
from tests.conftest import hour
conn = connect(Path(sys.argv[1]))
print("ready", flush=True)
ingest_window(conn, Path(sys.argv[2]), TimeWindow(hour("2026-11-20 10:00"), hour("2026-11-20 12:00")))
print("done", flush=True)
"""


@pytest.mark.parametrize("delay", [0.3])
def test_an_ingestion_killed_mid_run_leaves_nothing_half_done(tmp_path: Path, delay: float) -> None:
    landing = tmp_path / "landing"
    for f in range(3):
        lines: list[dict[str, Any] | str] = [
            event(f"e{f}_{n}", T10 if n % 2 else T11, id=f"c{f}_{n}", transcript="x" * 300) for n in range(15_000)
        ]
        write_landing(landing, f"call_intelligence/f{f}.jsonl.gz", [*lines, "{bad"])
    killed = tmp_path / "killed.duckdb"
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_INGEST, str(killed), str(landing)],
        cwd=Path(__file__).resolve().parent.parent,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline() == "ready\n"
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    process.wait()

    both = TimeWindow(H10.start, H11.end)
    conn = connect(killed)
    assert conn.execute("SELECT count(*) FROM raw.events").fetchone() in [(0,), (45_000,)]  # all or nothing
    ingest_window(conn, landing, both)
    clean = connect(tmp_path / "clean.duckdb")
    ingest_window(clean, landing, both)
    for table, columns in [
        ("raw.events", "event_id, file, line, occurred_at, data"),
        ("ops.quarantine", "file, line, reason"),
        ("ops.event_deliveries", "*"),
        ("ops.landing_files", "* EXCLUDE (read_at)"),
    ]:
        query = f"SELECT {columns} FROM {table} ORDER BY ALL"
        assert conn.execute(query).fetchall() == clean.execute(query).fetchall(), table
    assert conn.execute("SELECT count(*) FROM raw.events").fetchone() == (45_000,)
    conn.close()
    clean.close()
