"""The demo landing generator: deterministic, realistic, and shaped as CONTRACT §3 says."""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from metricstore.demo import read_demo_manifest, write_demo_landing
from metricstore.demo.manifest import DEMO_WORKSPACE, DemoManifest

END = datetime(2026, 11, 20, 12, 0)
SOURCES = (
    "call_intelligence",
    "world_events",
    "surface_events",
    "emotion_events",
    "connector_events",
    "voice_judge_results",
)
STRING_FIELDS = ("event_id", "source", "event_type", "workspace_id", "occurred_at")


@dataclass(frozen=True)
class Line:
    path: Path
    number: int
    event: dict[str, Any] | None  # None: not valid JSON
    problem: str | None  # why the line is malformed, None when it is valid


def _problem(event: dict[str, Any]) -> str | None:
    for name in STRING_FIELDS:
        if not isinstance(event.get(name), str):
            return f"{name} missing or not a string"
    if not isinstance(event.get("is_simulation"), bool):
        return "is_simulation not a bool"
    if not isinstance(event.get("data"), dict):
        return "data not an object"
    if event["event_type"] == "call_intelligence.row" and "id" not in event["data"]:
        return "row without data.id"
    return None


def _read_all(root: Path) -> list[Line]:
    lines: list[Line] = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.name == "_demo.json":
            continue
        if path.suffix == ".parquet":
            for number, row in enumerate(pq.read_table(path).to_pylist(), start=1):
                event = {**row, "data": json.loads(row["data"])}
                lines.append(Line(path, number, event, _problem(event)))
            continue
        raw = path.read_bytes()
        if path.name.endswith(".gz"):
            raw = gzip.decompress(raw)
        for number, text in enumerate(raw.decode("utf-8").splitlines(), start=1):
            try:
                event = json.loads(text)
            except json.JSONDecodeError:
                lines.append(Line(path, number, None, "invalid JSON"))
                continue
            lines.append(Line(path, number, event, _problem(event)))
    return lines


def _utc(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def _tree_hashes(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoManifest, list[Line]]:
    root = tmp_path_factory.mktemp("landing")
    manifest = write_demo_landing(root, end=END)
    return root, manifest, _read_all(root)


def test_same_inputs_give_byte_identical_trees(demo: tuple[Path, DemoManifest, list[Line]], tmp_path: Path) -> None:
    root, manifest, _ = demo
    again = write_demo_landing(tmp_path / "again", end=END, hours=48, seed=7)
    assert again == manifest
    first, second = _tree_hashes(root), _tree_hashes(tmp_path / "again")
    assert len(first) > 10
    assert first == second


def test_other_seed_gives_other_data(tmp_path: Path) -> None:
    write_demo_landing(tmp_path / "a", end=END, hours=2, seed=1)
    write_demo_landing(tmp_path / "b", end=END, hours=2, seed=2)
    assert _tree_hashes(tmp_path / "a") != _tree_hashes(tmp_path / "b")


def test_manifest_round_trips(demo: tuple[Path, DemoManifest, list[Line]], tmp_path: Path) -> None:
    root, manifest, _ = demo
    assert read_demo_manifest(root) == manifest
    assert manifest.workspace_id == DEMO_WORKSPACE
    assert read_demo_manifest(tmp_path) is None


def test_window_has_exactly_the_hours_and_holds_every_event(
    demo: tuple[Path, DemoManifest, list[Line]],
) -> None:
    _, manifest, lines = demo
    assert manifest.start.tzinfo is None and manifest.end.tzinfo is None
    assert manifest.end == END
    assert manifest.end - manifest.start == timedelta(hours=48)
    assert manifest.start.minute == manifest.start.second == manifest.start.microsecond == 0
    valid = [line.event for line in lines if line.problem is None and line.event is not None]
    assert valid
    for event in valid:
        assert manifest.start <= _utc(event["occurred_at"]) < manifest.end, event["occurred_at"]
        assert event["workspace_id"] == DEMO_WORKSPACE


def test_counts(demo: tuple[Path, DemoManifest, list[Line]]) -> None:
    _, manifest, lines = demo
    assert manifest.events == len(lines)
    conversation_ids = {
        line.event["data"]["id"]
        for line in lines
        if line.problem is None and line.event is not None and line.event["source"] == "call_intelligence"
    }
    assert manifest.conversations == len(conversation_ids)
    assert manifest.conversations >= 2500


def test_every_source_and_format_is_present(demo: tuple[Path, DemoManifest, list[Line]]) -> None:
    root, _, lines = demo
    for source in SOURCES:
        assert (root / source).is_dir(), source
        assert any(line.path.relative_to(root).parts[0] == source for line in lines), source
    names = [path.name for path in root.rglob("*") if path.is_file()]
    assert any(name.endswith(".jsonl") for name in names)
    assert any(name.endswith(".jsonl.gz") for name in names)
    assert any(name.endswith(".parquet") for name in names)


def test_exactly_four_malformed_lines_in_one_call_file(demo: tuple[Path, DemoManifest, list[Line]]) -> None:
    root, _, lines = demo
    bad = [line for line in lines if line.problem is not None]
    assert sorted(line.problem or "" for line in bad) == sorted(
        [
            "invalid JSON",
            "workspace_id missing or not a string",
            "is_simulation not a bool",
            "row without data.id",
        ]
    )
    assert len({line.path for line in bad}) == 1
    assert bad[0].path.relative_to(root).parts[0] == "call_intelligence"


def test_voice_judge_results_only_for_voice_sessions(demo: tuple[Path, DemoManifest, list[Line]]) -> None:
    _, _, lines = demo
    valid = [line.event for line in lines if line.problem is None and line.event is not None]
    rows = [e for e in valid if e["source"] == "call_intelligence"]
    channel_of = {e["session_id"]: e["channel"] for e in rows}
    conversation_of = {e["session_id"]: e["data"]["id"] for e in rows}
    judged = [e for e in valid if e["source"] == "voice_judge_results"]
    assert judged
    for event in judged:
        assert channel_of[event["session_id"]] == "voice"
        assert event["data"]["conversation_id"] == conversation_of[event["session_id"]]
        assert event["data"]["passed"] == (event["data"]["score"] >= 6)


def test_realistic_shape(demo: tuple[Path, DemoManifest, list[Line]]) -> None:
    _, _, lines = demo
    valid = [line.event for line in lines if line.problem is None and line.event is not None]
    sessions = {e["session_id"] for e in valid if e["source"] == "call_intelligence"}
    assert all(e["session_id"] in sessions for e in valid)
    # duplicates are exact re-deliveries of one line
    by_id: dict[str, list[dict[str, Any]]] = {}
    for event in valid:
        by_id.setdefault(event["event_id"], []).append(event)
    duplicated = [events for events in by_id.values() if len(events) > 1]
    assert duplicated
    assert all(len(events) == 2 and events[0] == events[1] for events in duplicated)
    # some conversations have an in-progress snapshot before the final one, some across an hour boundary
    snapshots: dict[str, list[dict[str, Any]]] = {}
    for event in valid:
        if event["source"] == "call_intelligence":
            snapshots.setdefault(event["data"]["id"], []).append(event)
    snapshots = {key: list({e["event_id"]: e for e in s}.values()) for key, s in snapshots.items()}
    pairs = [s for s in snapshots.values() if len(s) == 2]
    assert all(len(s) <= 2 for s in snapshots.values())
    assert 0.2 < len(pairs) / len(snapshots) < 0.4
    straddling = 0
    for pair in pairs:
        early, final = sorted(pair, key=lambda e: e["data"]["snapshot_version"])
        assert early["data"]["status"] == "in_progress" and "sentiment" not in early["data"]
        assert _utc(early["occurred_at"]) < _utc(final["occurred_at"])
        straddling += _utc(early["occurred_at"]).hour != _utc(final["occurred_at"]).hour
    assert straddling > 0
    # some occurred_at values use an offset rather than Z
    assert any(not e["occurred_at"].endswith("Z") for e in valid)
    finals = [max(s, key=lambda e: e["data"]["snapshot_version"])["data"] for s in snapshots.values()]
    assert {d["status"] for d in finals} == {"completed", "escalated", "abandoned", "failed"}
    assert all(d["callStatus"] == "escalated" for d in finals if d["status"] == "escalated")
    assert all(d["transcription"] and {t["role"] for t in d["transcription"]} <= {"assistant", "user"} for d in finals)


def test_window_normalization_and_bad_hours(tmp_path: Path) -> None:
    manifest = write_demo_landing(tmp_path, end=datetime(2026, 11, 20, 13, 45, tzinfo=UTC), hours=3)
    assert manifest.end == datetime(2026, 11, 20, 13, 0)
    assert manifest.start == datetime(2026, 11, 20, 10, 0)
    with pytest.raises(ValueError):
        write_demo_landing(tmp_path / "none", end=END, hours=0)
