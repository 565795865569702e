"""Fresh within minutes: the landing files sensor requests runs of the hours that arriving files touch (the open
hour included), AI metrics run on arrival for workspaces that ask, within an hourly budget, and any number of
arrival runs give the tables one run after all files landed gives."""

from __future__ import annotations

import json
import os
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from dagster import (
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    build_schedule_context,
    build_sensor_context,
    materialize,
)

from assets.resources import ARRIVAL_TAG, FILES_TAG, MetricStoreResource
from metricstore.arrivals import look
from metricstore.catalog_loader import load_catalog
from metricstore.evaluation.pending import AiSettings, spent_in_hour
from metricstore.evaluation.run import evaluate_window
from metricstore.extract import extract_window
from metricstore.ingest import ingest_window
from metricstore.windows import HOUR, TimeWindow, floor_hour, partition_key_for, utc_now
from orchestration.definitions import defs
from orchestration.jobs import hourly_metrics_schedule
from orchestration.sensor_state import load_seen, state_folder
from orchestration.sensors import landing_files_sensor
from tests.conftest import REPO, event, write_landing

SENTIMENT = {"key": "mood", "name": "Mood", "metric_type": "categorical", "extraction_mode": "ai_sentiment"}


def _at(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _call(i: int, at: datetime, *, ended: bool, workspace: str = "ws_test") -> dict[str, Any]:
    """A snapshot of call ``i`` (its event id names the snapshot: a later one of the same call is another event)."""
    fields: dict[str, Any] = {"status": "completed", "endTime": _at(at)} if ended else {"status": "in_progress"}
    return event(
        f"e{workspace}{i}{'e' if ended else 'p'}",
        _at(at),
        workspace_id=workspace,
        id=f"c{workspace}{i}",
        duration=60 + i,
        transcription=[{"role": "user", "content": f"Call {i}: thank you, this was great and very helpful"}],
        **fields,
    )


def _settled(path: Path, now: datetime | None = None) -> None:
    """Give ``path`` a modification time a minute before ``now`` (the clock's now by default)."""
    old = (now.replace(tzinfo=UTC).timestamp() if now else time.time()) - 60
    os.utime(path, (old, old))


def test_a_look_names_the_hours_that_new_changed_and_removed_files_touch(landing: Path) -> None:
    now = datetime(2026, 11, 20, 12, 30)
    first = write_landing(landing, "call_intelligence/a.jsonl", [_call(1, now - HOUR, ended=True)])
    bad = write_landing(landing, "call_intelligence/bad.jsonl", ["{not json"])
    hidden = write_landing(landing, "call_intelligence/.c.jsonl", [_call(2, now, ended=True)])  # still being written
    for path in (first, bad, hidden):
        _settled(path, now)
    found = look(landing, {}, now)
    assert found.hours == {"2026-11-20-11:00": [str(first)], "2026-11-20-12:00": [str(bad)]}  # bad: the open hour
    assert look(landing, found.seen, now).hours == {}  # nothing changed since

    write_landing(landing, "call_intelligence/a.jsonl", [_call(1, now - 3 * HOUR, ended=True)])  # its event moved
    _settled(first, now + timedelta(seconds=30))  # rewritten later (the same size: its time tells)
    fresh = write_landing(landing, "call_intelligence/b.jsonl", [_call(3, now, ended=False)])
    stamp = now.replace(tzinfo=UTC).timestamp()
    os.utime(fresh, (stamp, stamp))  # written just now
    moved = look(landing, found.seen, now + timedelta(seconds=1))
    assert moved.hours == {"2026-11-20-09:00": [str(first)], "2026-11-20-11:00": [str(first)]}
    assert moved.settling == [str(fresh)]  # modified less than 2 s ago: read at a later look
    _settled(fresh, now)
    hidden.rename(landing / "call_intelligence" / "c.jsonl")  # renamed into place: now a landing file
    later = look(landing, moved.seen, now)
    assert later.hours == {"2026-11-20-12:00": [str(fresh), str(landing / "call_intelligence" / "c.jsonl")]}
    first.unlink()
    assert look(landing, later.seen, now).hours == {"2026-11-20-09:00": [str(first)]}  # its events leave that hour


def test_a_file_still_being_written_under_a_hidden_name_is_read_by_no_run(
    conn: duckdb.DuckDBPyConnection, landing: Path
) -> None:
    now = datetime(2026, 11, 20, 12, 30)
    write_landing(landing, "call_intelligence/.partial.jsonl", [_call(1, now, ended=True), "{half a li"])
    write_landing(landing, "call_intelligence/.tmp/x.jsonl", [_call(2, now, ended=True)])  # a hidden folder too
    ingest_window(conn, landing, TimeWindow(floor_hour(now), floor_hour(now) + HOUR))
    counts = conn.execute(
        "SELECT (SELECT count(*) FROM raw.events), (SELECT count(*) FROM ops.quarantine), "
        "(SELECT count(*) FROM ops.landing_files)"
    ).fetchone()
    assert counts == (0, 0, 0)


@pytest.fixture
def instance_env(tmp_path: Path, landing: Path, monkeypatch: pytest.MonkeyPatch) -> DagsterInstance:
    monkeypatch.setenv("METRICSTORE_LANDING", str(landing))
    monkeypatch.setenv("METRICSTORE_WAREHOUSE", str(tmp_path / "wh.duckdb"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    return DagsterInstance.ephemeral()


def test_the_sensor_requests_each_touched_hour_once_and_leaves_a_queued_hour_to_its_run(
    landing: Path, instance_env: DagsterInstance
) -> None:
    now = floor_hour(utc_now())
    path = write_landing(
        landing, "call_intelligence/a.jsonl", [_call(1, now, ended=True), _call(2, now - HOUR, ended=True)]
    )
    _settled(path)
    context = build_sensor_context(instance=instance_env)
    result = landing_files_sensor(context)
    requests = sorted(result.run_requests, key=lambda r: r.partition_key)
    assert [r.partition_key for r in requests] == [partition_key_for(now - HOUR), partition_key_for(now)]
    assert all(r.tags[ARRIVAL_TAG] == "true" and r.tags[FILES_TAG] == str(path) for r in requests)
    cursor = json.loads(result.cursor)
    assert cursor["files"] == 1 and set(load_seen(cursor["state"]) or {}) == {str(path)}

    again = landing_files_sensor(build_sensor_context(instance=instance_env, cursor=result.cursor))
    assert not again.run_requests  # nothing changed

    instance_env.add_run(
        DagsterRun(
            job_name="hourly_metrics",
            run_id="waiting-run",
            status=DagsterRunStatus.NOT_STARTED,  # (a QUEUED one needs a code location behind it)
            tags={"dagster/partition": partition_key_for(now)},
        )
    )
    newer = write_landing(landing, "call_intelligence/b.jsonl", [_call(3, now, ended=True)])
    _settled(newer)
    coalesced = landing_files_sensor(build_sensor_context(instance=instance_env, cursor=result.cursor))
    assert not coalesced.run_requests  # the queued run of that hour reads b.jsonl when it starts


def test_the_schedule_runs_the_hour_that_just_ended_while_partitions_reach_the_open_hour() -> None:
    tick = datetime(2026, 11, 20, 11, 5)
    request = hourly_metrics_schedule(build_schedule_context(scheduled_execution_time=tick))
    assert request.partition_key == "2026-11-20-10:00"
    partitions = defs.resolve_job_def("hourly_metrics").partitions_def
    assert partitions is not None
    assert partitions.get_last_partition_key() == partition_key_for(floor_hour(utc_now()))


def _defs(tmp_path: Path, cadence: str) -> Path:
    root = tmp_path / "defs"
    shutil.copytree(REPO / "metric_defs" / "builtin", root / "builtin")
    for workspace, settings in (("ws_test", {"ai_cadence": cadence}), ("ws_hourly", {})):
        (root / "workspaces" / workspace).mkdir(parents=True)
        (root / "workspaces" / workspace / "ai.yaml").write_text(yaml.safe_dump({"metrics": [SENTIMENT]}))
        (root / "workspaces" / workspace / "workspace.yaml").write_text(yaml.safe_dump(settings))
    return root


def test_arrival_runs_evaluate_ended_calls_of_on_arrival_workspaces_within_the_hours_budget(
    conn: duckdb.DuckDBPyConnection, landing: Path, tmp_path: Path
) -> None:
    now = floor_hour(utc_now())
    window = TimeWindow(now, now + HOUR)
    calls = [_call(i, now + timedelta(minutes=i), ended=i != 0) for i in range(4)]
    calls.append(_call(9, now, ended=True, workspace="ws_hourly"))
    write_landing(landing, "call_intelligence/a.jsonl", calls)
    catalog = load_catalog(_defs(tmp_path, "on_arrival"))
    ingest_window(conn, landing, window)
    extract_window(conn, catalog, window)
    arrival = AiSettings(arrival=True, cap_per_metric=2)
    first = evaluate_window(conn, catalog, window, settings=arrival)
    assert first.evaluated_pairs == {("ws_test", "mood", "cws_test3"), ("ws_test", "mood", "cws_test2")}
    # the hour's budget (2) is spent: a later arrival run of the hour evaluates nothing more
    assert evaluate_window(conn, catalog, window, settings=arrival).evaluated == 0
    # the hourly run of the hour shares its budget; with budget left it takes the rest, ended
    # or not (the workspace without on_arrival took no part in arrival runs, and is capped per run as always)
    rest = evaluate_window(conn, catalog, window, settings=AiSettings(cap_per_metric=5))
    assert {pair[2] for pair in rest.evaluated_pairs if pair[0] == "ws_test"} == {"cws_test1", "cws_test0"}
    assert {pair[0] for pair in rest.evaluated_pairs} == {"ws_test", "ws_hourly"}
    # what the hour's runs spent, counted with the values; an earlier hour's spending is its own
    assert spent_in_hour(conn, now) == {("ws_test", "mood"): 4, ("ws_hourly", "mood"): 1}
    assert spent_in_hour(conn, now - HOUR) == {}


def _tables(warehouse: Path) -> dict[str, list[tuple[Any, ...]]]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return {
            "values": conn.execute(
                "SELECT * EXCLUDE (evaluated_at) FROM metrics.metric_values ORDER BY ALL"
            ).fetchall(),
            "aggregates": conn.execute(
                "SELECT * EXCLUDE (computed_at) FROM metrics.metric_aggregates ORDER BY ALL"
            ).fetchall(),
            "events": conn.execute("SELECT event_id, occurred_at FROM raw.events ORDER BY ALL").fetchall(),
        }


def test_any_number_of_arrival_runs_give_the_tables_of_one_run_after_all_files_landed(tmp_path: Path) -> None:
    now = floor_hour(utc_now())
    key = partition_key_for(now)
    defs_root = _defs(tmp_path, "on_arrival")
    batches = [
        [_call(1, now, ended=True), _call(2, now + timedelta(minutes=1), ended=False)],
        [_call(3, now + timedelta(minutes=2), ended=True), _call(2, now + timedelta(minutes=3), ended=True)],
    ]

    def resource(name: str) -> MetricStoreResource:
        return MetricStoreResource(
            warehouse=str(tmp_path / name / "wh.duckdb"),
            landing=str(tmp_path / name / "landing"),
            metric_defs=str(defs_root),
        )

    def run(res: MetricStoreResource, tags: dict[str, str]) -> None:
        result = materialize(defs.assets, partition_key=key, resources={"metricstore": res}, tags=tags)  # type: ignore[arg-type]
        assert result.success

    arrivals = resource("arrivals")
    for i, lines in enumerate(batches):
        write_landing(Path(arrivals.landing), f"call_intelligence/{i}.jsonl", lines)
        run(arrivals, {ARRIVAL_TAG: "true"})
    with duckdb.connect(arrivals.warehouse, read_only=True) as conn:  # the arrival runs evaluated the ended calls
        evaluated = conn.execute("SELECT entity_id FROM metrics.metric_values WHERE metric_key = 'mood' ORDER BY 1")
        assert evaluated.fetchall() == [("cws_test1",), ("cws_test2",), ("cws_test3",)]
    run(arrivals, {})  # the hourly run of the hour
    once = resource("once")
    for i, lines in enumerate(batches):
        write_landing(Path(once.landing), f"call_intelligence/{i}.jsonl", lines)
    run(once, {})
    assert _tables(Path(arrivals.warehouse)) == _tables(Path(once.warehouse))


def test_the_sensors_cursor_stays_small_and_a_tick_that_did_not_commit_is_looked_at_again(
    landing: Path, instance_env: DagsterInstance
) -> None:
    now = floor_hour(utc_now())
    paths = [
        write_landing(landing, f"call_intelligence/{i:03d}.jsonl", [_call(i, now, ended=True)]) for i in range(200)
    ]
    for path in paths:
        _settled(path)
    first = landing_files_sensor(build_sensor_context(instance=instance_env))
    assert [r.partition_key for r in first.run_requests] == [partition_key_for(now)]
    assert len(first.cursor) < 100  # Dagster stores it with every tick: a number, not the 200 files
    assert json.loads(first.cursor)["files"] == 200

    # the tick with a new file fails before Dagster commits its cursor: the next look starts from the old one
    newer = write_landing(landing, "call_intelligence/new.jsonl", [_call(999, now - HOUR, ended=True)])
    _settled(newer)
    lost = landing_files_sensor(build_sensor_context(instance=instance_env, cursor=first.cursor))
    again = landing_files_sensor(build_sensor_context(instance=instance_env, cursor=first.cursor))
    assert [r.partition_key for r in lost.run_requests] == [r.partition_key for r in again.run_requests]
    assert [r.partition_key for r in again.run_requests] == [partition_key_for(now - HOUR)]
    settled = landing_files_sensor(build_sensor_context(instance=instance_env, cursor=again.cursor))
    assert not settled.run_requests and settled.cursor == again.cursor  # nothing changed: no new state
    # the lost tick's state 2 was written again by the look after it; state 1 stays as the one before
    assert sorted(p.name for p in state_folder().glob("seen-*.json")) == ["seen-1.json", "seen-2.json"]
    _settled(write_landing(landing, "call_intelligence/newest.jsonl", [_call(1000, now, ended=True)]))
    latest = landing_files_sensor(build_sensor_context(instance=instance_env, cursor=settled.cursor))
    assert json.loads(latest.cursor)["state"] == 3
    assert sorted(p.name for p in state_folder().glob("seen-*.json")) == ["seen-2.json", "seen-3.json"]


def test_a_cursor_whose_state_is_gone_starts_from_what_was_published(
    landing: Path, instance_env: DagsterInstance
) -> None:
    now = floor_hour(utc_now())
    _settled(write_landing(landing, "call_intelligence/a.jsonl", [_call(1, now, ended=True)]))
    result = landing_files_sensor(build_sensor_context(instance=instance_env, cursor='{"state": 7, "waiting": {}}'))
    # nothing is published yet, so every file is new; the state starts again at 1
    assert [r.partition_key for r in result.run_requests] == [partition_key_for(now)]
    assert json.loads(result.cursor)["state"] == 1
