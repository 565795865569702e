"""Ingestion of landing files into raw.events (CONTRACT §3): quarantine, dedup, windows, formats, re-reads."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from metricstore.ingest import ingest_window
from metricstore.landing import UNSUPPORTED_REASON
from metricstore.windows import TimeWindow
from tests.conftest import event, hour, write_landing

H10 = TimeWindow(hour("2026-11-20 10:00"), hour("2026-11-20 11:00"))
H11 = TimeWindow(hour("2026-11-20 11:00"), hour("2026-11-20 12:00"))
H12 = TimeWindow(hour("2026-11-20 12:00"), hour("2026-11-20 13:00"))
T10 = "2026-11-20T10:15:00Z"
SOURCES_LIST = "call_intelligence, world_events, surface_events, emotion_events, connector_events, voice_judge_results"


def _events(conn: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    return conn.execute("SELECT event_id, file, line FROM raw.events ORDER BY event_id").fetchall()


def _quarantine(conn: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    return conn.execute("SELECT file, line, source, reason FROM ops.quarantine ORDER BY file, line").fetchall()


def _bad(**changes: Any) -> str:
    """A call_intelligence event line at 10:15 with fields replaced, or removed when the value is ``...``."""
    e = event("bad", T10, id="c_bad")
    for name, value in changes.items():
        if value is ...:
            e.pop(name)
        else:
            e[name] = value
    return json.dumps(e)


MALFORMED = [
    pytest.param("{not json", "not valid JSON", id="invalid-json"),
    pytest.param('{"event_id": "bad", "source": "call_intel', "not valid JSON", id="truncated"),
    pytest.param("[1, 2]", "not a JSON object", id="array"),
    pytest.param('"a string"', "not a JSON object", id="string"),
    pytest.param("42", "not a JSON object", id="number"),
    pytest.param(_bad(event_id=...), "missing event_id", id="no-event_id"),
    pytest.param(_bad(source=...), "missing source", id="no-source"),
    pytest.param(_bad(event_type=...), "missing event_type", id="no-event_type"),
    pytest.param(_bad(workspace_id=...), "missing workspace_id", id="no-workspace_id"),
    pytest.param(_bad(occurred_at=...), "missing occurred_at", id="no-occurred_at"),
    pytest.param(_bad(channel=...), "missing channel", id="no-channel"),
    pytest.param(_bad(data=...), "missing data", id="no-data"),
    pytest.param(_bad(event_id=None), "missing event_id", id="null-event_id"),
    pytest.param(_bad(is_simulation="false"), "is_simulation must be true or false", id="is_simulation-str"),
    pytest.param(_bad(is_simulation="maybe"), "is_simulation must be true or false", id="is_simulation-word"),
    pytest.param(_bad(is_simulation=1), "is_simulation must be true or false", id="is_simulation-int"),
    pytest.param(_bad(channel="fax"), "channel must be voice, text or surface", id="channel-fax"),
    pytest.param(_bad(direction="sideways"), "direction must be inbound, outbound or null", id="direction"),
    pytest.param(_bad(event_id=17), "event_id must be a non-empty string", id="event_id-number"),
    pytest.param(_bad(event_id=""), "event_id must be a non-empty string", id="event_id-empty"),
    pytest.param(_bad(workspace_id=""), "workspace_id must be a non-empty string", id="workspace-empty"),
    pytest.param(_bad(event_type=5), "event_type must be a non-empty string", id="event_type-number"),
    pytest.param(_bad(session_id=3), "session_id must be a string or null", id="session_id-number"),
    pytest.param(_bad(service_id=[1]), "service_id must be a string or null", id="service_id-list"),
    pytest.param(_bad(data=[1, 2]), "data must be a JSON object", id="data-array"),
    pytest.param(_bad(data="plain text"), "data must be a JSON object", id="data-string"),
    pytest.param(_bad(data={"duration": 3}), "call_intelligence.row without data.id", id="row-without-id"),
    pytest.param(_bad(data={"id": ""}), "call_intelligence.row without data.id", id="row-empty-id"),
    pytest.param(_bad(data={"id": {"x": 1}}), "call_intelligence.row without data.id", id="row-object-id"),
    pytest.param(
        _bad(source="world_events"),
        "source 'world_events' does not match its folder 'call_intelligence'",
        id="source-folder-mismatch",
    ),
    pytest.param(_bad(source="telepathy"), f"source must be one of {SOURCES_LIST}", id="unknown-source"),
    pytest.param(_bad(occurred_at="yesterday"), "occurred_at must be an ISO-8601 timestamp string", id="time-garbage"),
    pytest.param(_bad(occurred_at=1763633700), "occurred_at must be an ISO-8601 timestamp string", id="time-epoch"),
    pytest.param(
        _bad(data={"id": "c", "snapshot_version": "2"}), "data.snapshot_version must be an integer", id="version-str"
    ),
    pytest.param(
        _bad(data={"id": "c", "snapshot_version": 2**64 - 1}),
        "data.snapshot_version must be an integer",
        id="version-too-big",
    ),
]


@pytest.mark.parametrize(("line", "reason"), MALFORMED)
def test_malformed_line_is_quarantined_and_the_rest_of_its_file_lands(
    conn: duckdb.DuckDBPyConnection, landing: Path, line: str, reason: str
) -> None:
    path = write_landing(
        landing,
        "call_intelligence/batch.jsonl",
        [event("good_1", T10, id="c1"), "", line, event("good_2", "2026-11-20T10:20:00Z", id="c2")],
    )
    result = ingest_window(conn, landing, H10)

    file = str(path.resolve())
    assert _quarantine(conn) == [(file, 3, "call_intelligence", reason)]
    assert conn.execute("SELECT raw_line FROM ops.quarantine").fetchone() == (line,)
    assert _events(conn) == [("good_1", file, 1), ("good_2", file, 4)]
    assert (result.events_ingested, result.quarantined, result.lines_read) == (2, 1, 3)


def test_blank_lines_are_skipped_but_keep_line_numbers(conn: duckdb.DuckDBPyConnection, landing: Path) -> None:
    path = write_landing(
        landing,
        "world_events/w.jsonl",
        ["", event("w1", T10, source="world_events"), "   ", "", "{oops", event("w2", T10, source="world_events")],
    )
    result = ingest_window(conn, landing, H10)

    file = str(path.resolve())
    assert _events(conn) == [("w1", file, 2), ("w2", file, 6)]
    assert _quarantine(conn) == [(file, 5, "world_events", "not valid JSON")]
    assert result.lines_read == 3  # non-blank lines, as in the file index
    # the file index counts the non-blank lines: valid + quarantined
    assert conn.execute("SELECT lines, valid_events, quarantined FROM ops.landing_files").fetchone() == (3, 2, 1)


def test_line_numbers_hold_when_files_are_parsed_side_by_side(conn: duckdb.DuckDBPyConnection, landing: Path) -> None:
    # The files are split into groups parsed at the same time (one statement and cursor each): three files of
    # 30,000 lines, gzip among them, with blank and malformed lines at known places.
    files, expected_events, expected_bad = [], [], []
    for f, name in enumerate(["a.jsonl", "b.jsonl.gz", "c.jsonl"]):
        lines: list[dict[str, Any] | str] = []
        for n in range(1, 30_001):
            if n % 7_919 == 0:
                lines.append("")
            elif n % 4_001 == 0:
                lines.append('{"event_id": "broken"')
                expected_bad.append((f, n))
            else:
                lines.append(event(f"e{f}_{n}", T10, id=f"c{f}_{n}", transcript="x" * (n % 300)))
                expected_events.append((f"e{f}_{n}", f, n))
        files.append(str(write_landing(landing, f"call_intelligence/{name}", lines).resolve()))
    result = ingest_window(conn, landing, H10)

    got = conn.execute("SELECT event_id, file, line FROM raw.events").fetchall()
    assert sorted(got) == sorted((e, files[f], n) for e, f, n in expected_events)
    assert [(file, line) for file, line, *_ in _quarantine(conn)] == [(files[f], n) for f, n in expected_bad]
    assert result.events_ingested == len(expected_events)


def test_a_file_that_cannot_be_read_is_quarantined_and_the_others_land(
    conn: duckdb.DuckDBPyConnection, landing: Path
) -> None:
    write_landing(landing, "call_intelligence/a.jsonl", [event("a1", T10, id="c1")])
    write_landing(landing, "call_intelligence/b.jsonl", [event("b1", T10, id="c2")])
    bad = landing / "call_intelligence" / "c.jsonl.gz"
    bad.write_bytes(b"not gzip at all")
    assert ingest_window(conn, landing, H10).events_ingested == 2
    assert [r[0] for r in _events(conn)] == ["a1", "b1"]
    ((file, line, _source, reason),) = _quarantine(conn)
    assert (file, line) == (str(bad.resolve()), 0)
    assert reason.startswith("not a readable gzip file (Not a gzipped file")
    # the parsed groups are dropped with the run
    attached = "SELECT count(*) FROM duckdb_databases() WHERE database_name LIKE 'ingest_parse%'"
    assert conn.execute(attached).fetchone() == (0,)


def test_a_file_reached_twice_through_a_symlink_lands_its_events_once(
    conn: duckdb.DuckDBPyConnection, landing: Path
) -> None:
    path = write_landing(landing, "call_intelligence/a.jsonl", [event("e1", T10, id="c1"), event("e2", T10, id="c2")])
    (landing / "call_intelligence" / "b.jsonl").symlink_to(path)
    result = ingest_window(conn, landing, H10)
    file = str(path.resolve())
    assert _events(conn) == [("e1", file, 1), ("e2", file, 2)]
    assert (result.events_ingested, result.duplicates_dropped) == (2, 2)


def test_envelope_is_stored_typed(conn: duckdb.DuckDBPyConnection, landing: Path) -> None:
    write_landing(
        landing,
        "call_intelligence/a.jsonl",
        [
            event("e1", T10, id=42, snapshot_version=3, duration=61, is_simulation=True),
            event("e2", T10, event_type="call_intelligence.note", direction=None, channel="text"),
            event("e3", "2026-11-20T10:15:00.5+00:00", id="c3", session_id=None, service_id=None),
        ],
    )
    ingest_window(conn, landing, H10)
    rows = conn.execute(
        "SELECT event_id, event_type, workspace_id, occurred_at, session_id, service_id, channel, direction, "
        "is_simulation, conversation_id, snapshot_version, data ->> '$.duration' FROM raw.events ORDER BY event_id"
    ).fetchall()
    at = datetime(2026, 11, 20, 10, 15)
    assert rows == [
        # a numeric data.id is the conversation id as text
        ("e1", "call_intelligence.row", "ws_test", at, "s1", "svc", "voice", "inbound", True, "42", 3, "61"),
        # only call_intelligence.row events are conversations
        ("e2", "call_intelligence.note", "ws_test", at, "s1", "svc", "text", None, False, None, None, None),
        (
            "e3",
            "call_intelligence.row",
            "ws_test",
            at.replace(microsecond=500000),
            None,
            None,
            "voice",
            "inbound",
            False,
            "c3",
            None,
            None,
        ),
    ]


def test_missing_optional_envelope_fields_are_accepted(conn: duckdb.DuckDBPyConnection, landing: Path) -> None:
    e = event("e1", T10, source="surface_events", channel="surface")
    for name in ("session_id", "service_id", "direction", "is_simulation"):
        e.pop(name)
    write_landing(landing, "surface_events/s.jsonl", [e])
    ingest_window(conn, landing, H10)
    assert conn.execute(
        "SELECT event_id, session_id, service_id, direction, is_simulation FROM raw.events"
    ).fetchall() == [("e1", None, None, None, False)]
    assert _quarantine(conn) == []


def test_duplicate_event_id_in_one_file_is_one_event(conn: duckdb.DuckDBPyConnection, landing: Path) -> None:
    path = write_landing(
        landing,
        "call_intelligence/a.jsonl",
        [event("e1", T10, id="c1", duration=10), event("e2", T10, id="c2"), event("e1", T10, id="c1", duration=99)],
    )
    result = ingest_window(conn, landing, H10)
    file = str(path.resolve())
    assert _events(conn) == [("e1", file, 1), ("e2", file, 2)]
    assert conn.execute("SELECT data ->> '$.duration' FROM raw.events WHERE event_id = 'e1'").fetchone() == ("10",)
    assert (result.events_ingested, result.duplicates_dropped) == (2, 1)


def test_duplicate_event_id_across_files_is_one_event(conn: duckdb.DuckDBPyConnection, landing: Path) -> None:
    first = write_landing(landing, "call_intelligence/a.jsonl", [event("e1", T10, id="c1")])
    write_landing(landing, "call_intelligence/b.jsonl", [event("e2", T10, id="c2"), event("e1", T10, id="c1")])
    result = ingest_window(conn, landing, H10)
    assert [r[:2] for r in _events(conn)] == [
        ("e1", str(first.resolve())),
        ("e2", str(first.parent.joinpath("b.jsonl").resolve())),
    ]
    assert (result.events_ingested, result.duplicates_dropped) == (2, 1)
    # re-running with a third delivery of e1 still gives one e1
    write_landing(landing, "call_intelligence/c.jsonl", [event("e1", T10, id="c1")])
    ingest_window(conn, landing, H10)
    assert conn.execute("SELECT count(*) FROM raw.events WHERE event_id = 'e1'").fetchone() == (1,)


def test_every_snapshot_of_a_conversation_is_kept_in_raw(conn: duckdb.DuckDBPyConnection, landing: Path) -> None:
    # raw.events keeps each snapshot; which one represents the conversation is extraction's business
    write_landing(
        landing,
        "call_intelligence/a.jsonl",
        [
            event("s1", "2026-11-20T10:05:00Z", id="c1", snapshot_version=1),
            event("s2", "2026-11-20T10:05:00Z", id="c1", snapshot_version=2),
            event("s3", "2026-11-20T10:50:00Z", id="c1"),
        ],
    )
    ingest_window(conn, landing, H10)
    assert conn.execute(
        "SELECT event_id, conversation_id, snapshot_version FROM raw.events ORDER BY event_id"
    ).fetchall() == [("s1", "c1", 1), ("s2", "c1", 2), ("s3", "c1", None)]


def test_window_bounds_are_half_open(conn: duckdb.DuckDBPyConnection, landing: Path) -> None:
    write_landing(
        landing,
        "world_events/w.jsonl",
        [
            event("before", "2026-11-20T09:59:59.999999Z", source="world_events"),
            event("start", "2026-11-20T10:00:00Z", source="world_events"),
            event("last", "2026-11-20T10:59:59.999999Z", source="world_events"),
            event("end", "2026-11-20T11:00:00Z", source="world_events"),
            event("next_day", "2026-11-21T10:30:00Z", source="world_events"),
        ],
    )
    result = ingest_window(conn, landing, H10)
    assert [r[0] for r in _events(conn)] == ["last", "start"]
    assert result.events_ingested == 2
    assert result.duplicates_dropped == 0


def test_mixed_time_zones_land_in_their_utc_hour(conn: duckdb.DuckDBPyConnection, landing: Path) -> None:
    stamps = {
        "plus2": "2026-11-20T12:30:00+02:00",  # 10:30 UTC
        "minus5": "2026-11-20T05:45:00-05:00",  # 10:45 UTC
        "zulu": "2026-11-20T10:05:00Z",
        "naive": "2026-11-20T10:10:00",  # no offset: UTC
        "naive_space": "2026-11-20 10:20:00.250",
        "plus2_early": "2026-11-20T10:30:00+02:00",  # 08:30 UTC: not this hour
        "minus5_late": "2026-11-20T10:30:00-05:00",  # 15:30 UTC: not this hour
        "plus0530": "2026-11-20T15:59:00+05:30",  # 10:29 UTC
    }
    write_landing(landing, "world_events/w.jsonl", [event(k, v, source="world_events") for k, v in stamps.items()])
    ingest_window(conn, landing, H10)
    assert conn.execute("SELECT event_id, occurred_at FROM raw.events ORDER BY occurred_at").fetchall() == [
        ("zulu", datetime(2026, 11, 20, 10, 5)),
        ("naive", datetime(2026, 11, 20, 10, 10)),
        ("naive_space", datetime(2026, 11, 20, 10, 20, 0, 250000)),
        ("plus0530", datetime(2026, 11, 20, 10, 29)),
        ("plus2", datetime(2026, 11, 20, 10, 30)),
        ("minus5", datetime(2026, 11, 20, 10, 45)),
    ]
    ingest_window(conn, landing, TimeWindow(hour("2026-11-20 08:00"), hour("2026-11-20 16:00")))
    assert conn.execute(
        "SELECT occurred_at FROM raw.events WHERE event_id IN ('plus2_early', 'minus5_late') ORDER BY 1"
    ).fetchall() == [(datetime(2026, 11, 20, 8, 30),), (datetime(2026, 11, 20, 15, 30),)]


def test_offset_moves_an_event_across_midnight(conn: duckdb.DuckDBPyConnection, landing: Path) -> None:
    write_landing(landing, "world_events/w.jsonl", [event("e", "2026-11-21T00:30:00+02:00", source="world_events")])
    ingest_window(conn, landing, TimeWindow(hour("2026-11-20 22:00"), hour("2026-11-20 23:00")))
    assert conn.execute("SELECT occurred_at FROM raw.events").fetchall() == [(datetime(2026, 11, 20, 22, 30),)]


def test_jsonl_gzip_and_parquet_in_nested_folders(conn: duckdb.DuckDBPyConnection, landing: Path) -> None:
    plain = write_landing(landing, "call_intelligence/a.jsonl", [event("j1", T10, id="c1", duration=5)])
    gz = write_landing(
        landing,
        "emotion_events/2026/11/b.jsonl.gz",
        ["", event("g1", T10, source="emotion_events", score=0.5), "{bad"],
    )
    parquet = write_landing(
        landing,
        "call_intelligence/2026/11/20/c.parquet",
        [
            event("p1", "2026-11-20T12:05:00+02:00", id="c2", duration=7, tags=["x", "y"]),
            event("p2", "2026-11-20T10:40:00Z", id="c3", direction=None, is_simulation=True),
        ],
    )
    (landing / "call_intelligence" / "notes.txt").write_text("not a landing file\n")
    result = ingest_window(conn, landing, H10)

    assert (result.files_seen, result.files_read, result.files_unreadable) == (4, 4, 1)
    rows = conn.execute(
        "SELECT event_id, file, line, json_type(data), data ->> '$.id', direction, is_simulation, occurred_at "
        "FROM raw.events ORDER BY event_id"
    ).fetchall()
    at = datetime(2026, 11, 20, 10, 15)
    assert rows == [
        ("g1", str(gz.resolve()), 2, "OBJECT", None, "inbound", False, at),
        ("j1", str(plain.resolve()), 1, "OBJECT", "c1", "inbound", False, at),
        ("p1", str(parquet.resolve()), 1, "OBJECT", "c2", "inbound", False, datetime(2026, 11, 20, 10, 5)),
        ("p2", str(parquet.resolve()), 2, "OBJECT", "c3", None, True, datetime(2026, 11, 20, 10, 40)),
    ]
    assert conn.execute("SELECT data -> '$.tags' FROM raw.events WHERE event_id = 'p1'").fetchone() == ('["x","y"]',)
    assert conn.execute("SELECT (data ->> '$.score')::DOUBLE FROM raw.events WHERE event_id = 'g1'").fetchone() == (
        0.5,
    )
    assert _quarantine(conn) == [
        (str((landing / "call_intelligence" / "notes.txt").resolve()), 0, "call_intelligence", UNSUPPORTED_REASON),
        (str(gz.resolve()), 3, "emotion_events", "not valid JSON"),
    ]
    assert result.events_by_source == {"call_intelligence": 3, "emotion_events": 1}


def test_rerunning_a_window_is_idempotent(conn: duckdb.DuckDBPyConnection, landing: Path) -> None:
    write_landing(
        landing,
        "call_intelligence/a.jsonl",
        [event("e1", T10, id="c1"), "{bad", event("e2", "2026-11-20T11:30:00Z", id="c2"), event("e1", T10, id="c1")],
    )
    write_landing(landing, "world_events/w.jsonl", [event("w1", T10, source="world_events"), "[]"])
    everything = "SELECT * EXCLUDE (ingested_at) FROM raw.events ORDER BY event_id"
    first = ingest_window(conn, landing, H10)
    events = conn.execute(everything).fetchall()
    quarantine = _quarantine(conn)
    files = conn.execute("SELECT * EXCLUDE (read_at) FROM ops.landing_files ORDER BY file").fetchall()

    again = ingest_window(conn, landing, H10)
    assert conn.execute(everything).fetchall() == events
    assert _quarantine(conn) == quarantine
    assert len(quarantine) == 2
    assert conn.execute("SELECT * EXCLUDE (read_at) FROM ops.landing_files ORDER BY file").fetchall() == files
    assert (first.events_ingested, again.events_ingested) == (2, 2)
    assert (first.duplicates_dropped, again.duplicates_dropped) == (1, 1)

    # the other hour of the same file quarantines nothing twice either
    ingest_window(conn, landing, H11)
    assert conn.execute("SELECT count(*) FROM ops.quarantine").fetchone() == (2,)
    assert conn.execute("SELECT event_id FROM raw.events ORDER BY event_id").fetchall() == [
        ("e1",),
        ("e2",),
        ("w1",),
    ]


def test_late_file_is_picked_up_when_the_window_is_rerun(conn: duckdb.DuckDBPyConnection, landing: Path) -> None:
    write_landing(landing, "call_intelligence/a.jsonl", [event("e1", T10, id="c1")])
    ingest_window(conn, landing, H10)
    assert [r[0] for r in _events(conn)] == ["e1"]

    write_landing(landing, "call_intelligence/late.jsonl", [event("late", "2026-11-20T10:55:00Z", id="c9")])
    rerun = ingest_window(conn, landing, H10)
    assert [r[0] for r in _events(conn)] == ["e1", "late"]
    assert (rerun.files_read, rerun.events_ingested) == (2, 2)


def test_late_file_read_first_by_a_later_window_is_still_found_for_its_own(
    conn: duckdb.DuckDBPyConnection, landing: Path
) -> None:
    write_landing(landing, "call_intelligence/a.jsonl", [event("e1", T10, id="c1")])
    ingest_window(conn, landing, H10)
    write_landing(
        landing,
        "call_intelligence/late.jsonl",
        [event("late10", "2026-11-20T10:55:00Z", id="c9"), event("on11", "2026-11-20T11:05:00Z", id="c8")],
    )
    # the 11:00 run reads the new file (indexing it) but owns only its 11:00 event
    assert ingest_window(conn, landing, H11).files_read == 1
    assert [r[0] for r in _events(conn)] == ["e1", "on11"]
    # the index says the file holds 10:55, so the 10:00 re-run reads it again
    rerun = ingest_window(conn, landing, H10)
    assert rerun.files_read == 2
    assert [r[0] for r in _events(conn)] == ["e1", "late10", "on11"]


def test_changed_file_is_reread(conn: duckdb.DuckDBPyConnection, landing: Path) -> None:
    path = write_landing(landing, "call_intelligence/a.jsonl", [event("e1", T10, id="c1", duration=10), "{bad"])
    ingest_window(conn, landing, H11)  # indexes the file; it holds nothing for 11:00
    assert ingest_window(conn, landing, H12).files_read == 0

    stat = path.stat()
    write_landing(
        landing,
        "call_intelligence/a.jsonl",
        [event("e1", T10, id="c1", duration=20), event("e3", "2026-11-20T12:10:00Z", id="c3")],
    )
    os.utime(path, (stat.st_atime, stat.st_mtime + 10))
    result = ingest_window(conn, landing, H12)
    assert result.files_read == 1
    assert [r[0] for r in _events(conn)] == ["e3"]
    # the rewritten file has no bad line any more
    assert _quarantine(conn) == []

    ingest_window(conn, landing, H10)
    assert conn.execute("SELECT event_id, data ->> '$.duration' FROM raw.events ORDER BY 1").fetchall() == [
        ("e1", "20"),
        ("e3", None),
    ]


def test_rewritten_file_with_same_size_is_reread_by_mtime(conn: duckdb.DuckDBPyConnection, landing: Path) -> None:
    path = write_landing(landing, "call_intelligence/a.jsonl", [event("e1", T10, id="c1", duration=10)])
    ingest_window(conn, landing, H10)
    stat = path.stat()
    write_landing(landing, "call_intelligence/a.jsonl", [event("e1", T10, id="c1", duration=99)])
    os.utime(path, (stat.st_atime, stat.st_mtime + 5))
    assert path.stat().st_size == stat.st_size
    ingest_window(conn, landing, H10)
    assert conn.execute("SELECT data ->> '$.duration' FROM raw.events").fetchall() == [("99",)]


def test_event_removed_from_a_rewritten_file_leaves_its_window(conn: duckdb.DuckDBPyConnection, landing: Path) -> None:
    path = write_landing(landing, "call_intelligence/a.jsonl", [event("e1", T10, id="c1"), event("e2", T10, id="c2")])
    ingest_window(conn, landing, H10)
    stat = path.stat()
    write_landing(landing, "call_intelligence/a.jsonl", [event("e2", T10, id="c2")])
    os.utime(path, (stat.st_atime, stat.st_mtime + 5))
    ingest_window(conn, landing, H10)
    assert [r[0] for r in _events(conn)] == ["e2"]


def test_files_outside_the_window_are_not_reread(conn: duckdb.DuckDBPyConnection, landing: Path) -> None:
    write_landing(landing, "call_intelligence/h10.jsonl", [event("a", T10, id="c1")])
    write_landing(landing, "call_intelligence/h11.jsonl", [event("b", "2026-11-20T11:15:00Z", id="c2")])
    write_landing(
        landing,
        "world_events/span.jsonl",
        [event("w1", "2026-11-20T09:00:00Z", source="world_events"), event("w2", T10, source="world_events")],
    )
    write_landing(landing, "world_events/only_bad.jsonl", ["{bad", "[]"])

    first = ingest_window(conn, landing, H10)
    assert (first.files_seen, first.files_read) == (4, 4)
    eleven = ingest_window(conn, landing, H11)
    assert (eleven.files_seen, eleven.files_read) == (4, 1)
    assert ingest_window(conn, landing, H10).files_read == 2  # h10 and span, not h11 nor the all-bad file
    assert ingest_window(conn, landing, H12).files_read == 0
    nine = ingest_window(conn, landing, TimeWindow(hour("2026-11-20 09:00"), hour("2026-11-20 10:00")))
    assert nine.files_read == 1
    assert [r[0] for r in _events(conn)] == ["a", "b", "w1", "w2"]
    assert conn.execute("SELECT count(*) FROM ops.quarantine").fetchone() == (2,)


def test_event_count_by_source(conn: duckdb.DuckDBPyConnection, landing: Path) -> None:
    base = datetime(2026, 11, 20, 10, 0)
    lines: list[dict[str, Any] | str] = [
        event(f"v{i}", (base + timedelta(minutes=i)).isoformat(), source="voice_judge_results") for i in range(3)
    ]
    write_landing(landing, "voice_judge_results/v.jsonl", lines)
    write_landing(landing, "connector_events/c.jsonl", [event("c1", T10, source="connector_events")])
    result = ingest_window(conn, landing, H10)
    assert result.events_by_source == {"connector_events": 1, "voice_judge_results": 3}


def test_a_line_longer_than_the_csv_default_is_read(conn: duckdb.DuckDBPyConnection, landing: Path) -> None:
    transcript = [{"role": "user", "content": "a" * 1000}] * 3000  # about 3.1 MB on one line
    write_landing(
        landing,
        "call_intelligence/long.jsonl.gz",
        [event("short", T10, id="c1"), event("long", T10, id="c2", transcription=transcript)],
    )
    write_landing(landing, "world_events/w.jsonl", [event("w1", T10, source="world_events")])
    result = ingest_window(conn, landing, H10)
    assert result.events_ingested == 3
    assert conn.execute(
        "SELECT json_array_length(data, '$.transcription') FROM raw.events WHERE event_id = 'long'"
    ).fetchone() == (3000,)


@pytest.mark.parametrize("later", [True, False])
def test_an_event_an_edit_moves_to_another_hour_is_stored_once(
    conn: duckdb.DuckDBPyConnection, landing: Path, later: bool
) -> None:
    """e1 is stored in hour 10; its line is edited to another hour (11, or 09 before it), and only that hour runs.
    e1 is then stored once, in its new hour: its old copy, of the same file and line, is no longer the event."""
    path = write_landing(landing, "call_intelligence/a.jsonl", [event("e1", T10, id="c1"), event("e2", T10, id="c2")])
    ingest_window(conn, landing, H10)
    stat = path.stat()
    moved = "2026-11-20T11:05:00Z" if later else "2026-11-20T09:05:00Z"
    write_landing(landing, "call_intelligence/a.jsonl", [event("e1", moved, id="c1"), event("e2", T10, id="c2")])
    os.utime(path, (stat.st_atime, stat.st_mtime + 5))
    new_hour = H11 if later else TimeWindow(hour("2026-11-20 09:00"), hour("2026-11-20 10:00"))
    ingest_window(conn, landing, new_hour)
    assert conn.execute("SELECT event_id, occurred_at FROM raw.events ORDER BY 1").fetchall() == [
        ("e1", datetime.fromisoformat(moved[:-1])),
        ("e2", datetime.fromisoformat(T10[:-1])),
    ]


def test_an_edit_within_an_hour_leaves_the_event_there_until_its_hour_runs(
    conn: duckdb.DuckDBPyConnection, landing: Path
) -> None:
    """a.jsonl holds e1 (hour 10) and e2 (hour 11). An edit inserts a line above e1 and moves e1 within its hour.
    When hour 11 runs, e1 stays stored as it was (its hour still holds it); when hour 10 runs, it is the edited e1."""
    path = write_landing(
        landing, "call_intelligence/a.jsonl", [event("e1", T10, id="c1"), event("e2", "2026-11-20T11:05:00Z", id="c2")]
    )
    ingest_window(conn, landing, H10)
    ingest_window(conn, landing, H11)
    stat = path.stat()
    lines = [
        event("e0", "2026-11-20T12:00:00Z", id="c0"),
        event("e1", "2026-11-20T10:40:00Z", id="c1"),
        event("e2", "2026-11-20T11:05:00Z", id="c2"),
    ]
    write_landing(landing, "call_intelligence/a.jsonl", lines)
    os.utime(path, (stat.st_atime, stat.st_mtime + 5))
    ingest_window(conn, landing, H11)
    stored = "SELECT event_id, occurred_at, line FROM raw.events ORDER BY 1"
    assert conn.execute(stored).fetchall() == [
        ("e1", datetime(2026, 11, 20, 10, 15), 1),
        ("e2", datetime(2026, 11, 20, 11, 5), 3),
    ]
    ingest_window(conn, landing, H10)
    assert conn.execute(stored).fetchall() == [
        ("e1", datetime(2026, 11, 20, 10, 40), 2),
        ("e2", datetime(2026, 11, 20, 11, 5), 3),
    ]
