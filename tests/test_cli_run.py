"""End to end through the `metricstore` command: runs go through a Dagster instance in tmp_path."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest
from dagster import AssetKey, DagsterEventType, DagsterInstance, DagsterRun, DagsterRunStatus
from dagster._core.execution.backfill import BulkActionStatus

from assets.resources import HOST_TAG, PID_TAG
from metricstore.demo import read_demo_manifest
from metricstore.run_lock import writer_lock
from tests.conftest import REPO, event, write_landing

METRICSTORE = str(Path(sys.executable).with_name("metricstore"))


def _env(tmp_path: Path, landing: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "ANTHROPIC_API_KEY"}
    env.update(
        METRICSTORE_WAREHOUSE=str(tmp_path / "data" / "warehouse.duckdb"),
        METRICSTORE_LANDING=str(landing),
        METRICSTORE_METRIC_DEFS=str(REPO / "metric_defs"),
        DAGSTER_HOME=str(tmp_path / "dagster_home"),
    )
    return env


@contextmanager
def _instance(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[DagsterInstance]:
    """The Dagster instance of the CLI runs of ``env``."""
    from orchestration.runner import ensure_dagster_home

    with monkeypatch.context() as patched:
        patched.setenv("DAGSTER_HOME", env["DAGSTER_HOME"])
        ensure_dagster_home()
        with DagsterInstance.get() as instance:
            yield instance


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([METRICSTORE, *args], env=env, capture_output=True, text=True, check=False, cwd=REPO)


def test_run_backfill_gives_exact_aggregates(tmp_path: Path, small_landing: Path) -> None:
    env = _env(tmp_path, small_landing)
    done = _cli(env, "run", "--from", "2026-11-20-09:00", "--to", "2026-11-20-11:00")
    assert done.returncode == 0, done.stderr
    assert "hourly_metrics succeeded for 2026-11-20-09:00 .. 2026-11-20-11:00 (3 hours)" in done.stdout
    assert "quarantined lines" in done.stdout
    with duckdb.connect(env["METRICSTORE_WAREHOUSE"], read_only=True) as conn:
        rows = conn.execute(
            "SELECT metric_key, granularity, period_start::VARCHAR, value, sample_count "
            "FROM metrics.metric_aggregates WHERE source = 'production' "
            "AND metric_key IN ('call_volume', 'total_talk_time', 'quality_score', 'callback_required') ORDER BY ALL"
        ).fetchall()
        quarantined = conn.execute("SELECT line, reason FROM ops.quarantine").fetchall()
    # c2 happened at 09:35 UTC; c1's second snapshot (11:20) supersedes its 10:05 one; c3's score 101 is
    # out of range; c3 was delivered twice.
    assert rows == [
        ("call_volume", "daily", "2026-11-20 00:00:00", 3.0, 3),
        ("call_volume", "hourly", "2026-11-20 09:00:00", 1.0, 1),
        ("call_volume", "hourly", "2026-11-20 11:00:00", 2.0, 2),
        ("callback_required", "daily", "2026-11-20 00:00:00", 0.5, 2),
        ("callback_required", "hourly", "2026-11-20 09:00:00", 0.0, 1),
        ("callback_required", "hourly", "2026-11-20 11:00:00", 1.0, 1),
        ("quality_score", "daily", "2026-11-20 00:00:00", 60.0, 2),
        ("quality_score", "hourly", "2026-11-20 09:00:00", 70.0, 1),
        ("quality_score", "hourly", "2026-11-20 11:00:00", 50.0, 1),
        ("total_talk_time", "daily", "2026-11-20 00:00:00", 270.0, 3),
        ("total_talk_time", "hourly", "2026-11-20 09:00:00", 60.0, 1),
        ("total_talk_time", "hourly", "2026-11-20 11:00:00", 210.0, 2),
    ]
    assert quarantined == [(6, "missing event_type")]


def test_hour_by_hour_equals_backfill_and_reruns_are_idempotent(tmp_path: Path, small_landing: Path) -> None:
    env = _env(tmp_path, small_landing)
    for key in ("2026-11-20-11:00", "2026-11-20-09:00", "2026-11-20-10:00", "2026-11-20-10:00"):
        done = _cli(env, "run", "--partition", key)
        assert done.returncode == 0, done.stderr
    query = (
        "SELECT metric_key, granularity, period_start, source, value, sample_count FROM metrics.metric_aggregates "
        "ORDER BY ALL"
    )
    with duckdb.connect(env["METRICSTORE_WAREHOUSE"], read_only=True) as conn:
        hourly_runs = conn.execute(query).fetchall()
    other = tmp_path / "other"
    other.mkdir()
    env_backfill = _env(other, small_landing)
    assert _cli(env_backfill, "run", "--from", "2026-11-20-09:00", "--to", "2026-11-20-11:00").returncode == 0
    with duckdb.connect(env_backfill["METRICSTORE_WAREHOUSE"], read_only=True) as conn:
        assert conn.execute(query).fetchall() == hourly_runs


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--partition", "2026-11-20 10:00"], "is not an hourly partition key"),
        (["--partition", "2026-11-20-10:30"], "is not on the hour"),
        (["--from", "2026-11-20-11:00", "--to", "2026-11-20-10:00"], "is before --from"),
        (["--partition", "2020-01-01-00:00"], "no partition 2020-01-01-00:00"),
        ([], "give --partition KEY"),
    ],
)
def test_run_refuses_bad_partitions(tmp_path: Path, landing: Path, args: list[str], message: str) -> None:
    done = _cli(_env(tmp_path, landing), "run", *args)
    assert done.returncode == 2
    assert message in done.stderr


def test_runs_show_in_the_dagster_instance(
    tmp_path: Path, small_landing: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = _env(tmp_path, small_landing)
    assert _cli(env, "run", "--partition", "2026-11-20-10:00").returncode == 0
    with _instance(env, monkeypatch) as instance:
        runs = instance.get_run_records()
        assert [r.dagster_run.job_name for r in runs] == ["hourly_metrics"]
        assert runs[0].dagster_run.tags["dagster/partition"] == "2026-11-20-10:00"


def _started_run(instance: DagsterInstance, pid: int) -> str:
    run_id = str(uuid.uuid4())
    tags = {PID_TAG: str(pid), HOST_TAG: socket.gethostname(), "dagster/partition": "2026-11-20-09:00"}
    instance.add_run(DagsterRun(job_name="hourly_metrics", run_id=run_id, status=DagsterRunStatus.STARTED, tags=tags))
    return run_id


def test_a_run_left_started_by_a_killed_process_does_not_block_the_next(
    tmp_path: Path, small_landing: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = _env(tmp_path, small_landing)
    gone = subprocess.Popen(["true"])
    gone.wait()
    with _instance(env, monkeypatch) as instance:
        stale = _started_run(instance, gone.pid)
        live = _started_run(instance, os.getpid())  # this test's own process: alive, left alone
    done = _cli(env, "run", "--partition", "2026-11-20-10:00")
    assert done.returncode == 0, done.stderr
    with _instance(env, monkeypatch) as instance:
        assert instance.get_run_by_id(stale).status == DagsterRunStatus.FAILURE  # type: ignore[union-attr]
        failure = instance.all_logs(stale, of_type=DagsterEventType.RUN_FAILURE)
        assert len(failure) == 1
        assert f"this run's process (pid {gone.pid} on {socket.gethostname()}) is gone" in failure[0].message
        assert instance.get_run_by_id(live).status == DagsterRunStatus.STARTED  # type: ignore[union-attr]
        newest = instance.get_run_records(limit=1)[0].dagster_run
        assert newest.status == DagsterRunStatus.SUCCESS
        assert newest.tags[PID_TAG] != str(os.getpid())
        assert newest.tags["dagster/max_runtime"] == "0"
        monitoring = instance.get_settings("run_monitoring")
        assert monitoring["enabled"] is True
        assert monitoring["max_runtime_seconds"] == 21600


def test_demo_writes_landing_and_is_idempotent(tmp_path: Path) -> None:
    env = _env(tmp_path, tmp_path / "landing")
    first = _cli(env, "demo", "--hours", "3")
    assert first.returncode == 0, first.stderr
    assert "wrote demo landing data" in first.stdout
    manifest = read_demo_manifest(tmp_path / "landing")
    assert manifest is not None
    written = Path(env["DAGSTER_HOME"]) / "partitions_start"
    assert written.read_text() == manifest.start.strftime("%Y-%m-%d-%H:00\n")  # the UI starts at the demo's window
    query = "SELECT metric_key, granularity, period_start, source, value, sample_count FROM metrics.metric_aggregates"
    with duckdb.connect(env["METRICSTORE_WAREHOUSE"], read_only=True) as conn:
        before = sorted(conn.execute(query).fetchall())
        builtins = conn.execute("SELECT count(*) FROM metrics.metric_catalog WHERE builtin").fetchone()
    assert builtins == (42,)
    second = _cli(env, "demo", "--hours", "3")
    assert second.returncode == 0, second.stderr
    assert "already in" in second.stdout
    with duckdb.connect(env["METRICSTORE_WAREHOUSE"], read_only=True) as conn:
        assert sorted(conn.execute(query).fetchall()) == before
    assert len(before) > 100


def test_a_second_run_waits_for_the_one_that_writes(tmp_path: Path, small_landing: Path) -> None:
    """The lock a run holds (here: this test, as run "holder") makes `metricstore run` wait, say for whom, and
    then run: no overlap, no traceback."""
    env = _env(tmp_path, small_landing)
    warehouse = Path(env["METRICSTORE_WAREHOUSE"])
    with writer_lock(warehouse, "holder", lambda holder: None):
        second = subprocess.Popen(
            [METRICSTORE, "run", "--partition", "2026-11-20-10:00"],
            env=env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert second.stderr is not None
        waiting = second.stderr.readline()
        assert waiting == (
            f"waiting for run holder (pid {os.getpid()} on {socket.gethostname()}) to finish: one run writes the "
            "warehouse at a time\n"
        )
        assert second.poll() is None
        assert not warehouse.exists()  # it has not started
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    assert "Traceback" not in err
    assert "hourly_metrics succeeded for 2026-11-20-10:00" in out


def test_a_failed_run_says_which_step_failed_and_why(tmp_path: Path, small_landing: Path) -> None:
    defs = tmp_path / "defs"
    (defs / "builtin").mkdir(parents=True)
    (defs / "builtin" / "bad.yaml").write_text("key: Bad Key\nname: x\nmetric_type: numerical\n")
    env = _env(tmp_path, small_landing) | {"METRICSTORE_METRIC_DEFS": str(defs)}
    done = _cli(env, "run", "--partition", "2026-11-20-10:00")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "hourly_metrics FAILED for 2026-11-20-10:00" in done.stdout
    assert "failed steps: metrics/metric_values;" in done.stdout
    assert "failed checks: none (the checks of steps that did not finish were not evaluated)" in done.stdout
    error = done.stderr[done.stderr.index("\nerror: ") + 1 :]
    assert error.startswith("error: step metrics/metric_values failed: built-in metric definitions are invalid:")
    assert "bad.yaml: Bad Key: key: String should match pattern" in error
    assert "in metric_values]\n" in error  # where it was raised
    assert "input tokens" in done.stdout  # the usage line still prints after a failed step


def test_events_of_a_workspace_without_definitions_are_reported_once(tmp_path: Path, landing: Path) -> None:
    write_landing(
        landing,
        "call_intelligence/a.jsonl",
        [
            event("e1", "2026-11-20T10:05:00Z", workspace_id="ws_unknown", id="c1"),
            event("e2", "2026-11-20T11:05:00Z", workspace_id="ws_unknown", id="c2"),
            event("e3", "2026-11-20T11:15:00Z", workspace_id="ws_demo", id="c3"),
        ],
    )
    defs = tmp_path / "defs"
    shutil.copytree(REPO / "metric_defs" / "builtin", defs / "builtin")
    (defs / "workspaces" / "ws_demo").mkdir(parents=True)
    env = _env(tmp_path, landing) | {"METRICSTORE_METRIC_DEFS": str(defs)}
    done = _cli(env, "run", "--from", "2026-11-20-10:00", "--to", "2026-11-20-11:00")
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if "without a definitions folder" in line]
    assert len(lines) == 1
    assert lines[0].split()[:3] == ["no", "definitions", "2"]
    assert lines[0].endswith("built-in metrics only: ws_unknown (2)")


def test_a_range_run_gives_each_partition_its_own_hour(
    tmp_path: Path, small_landing: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = _env(tmp_path, small_landing)
    done = _cli(env, "run", "--from", "2026-11-20-09:00", "--to", "2026-11-20-11:00")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1].split()[:3] == ["events", "ingested", "4"]  # the run's total
    with _instance(env, monkeypatch) as instance:

        def per_partition(key: list[str], name: str) -> list[tuple[str | None, object, object]]:
            records = instance.fetch_materializations(AssetKey(key), limit=10).records
            events = [r.asset_materialization for r in records if r.asset_materialization]
            return sorted((m.partition, m.metadata[name].value, m.metadata["window"].value) for m in events)

        # c2 at 09:35 UTC, c1 at 10:05, e3 and e4 at 11:xx (e3 delivered twice: one event)
        assert per_partition(["raw", "events"], "events_ingested") == [
            ("2026-11-20-09:00", 1, "[2026-11-20 09:00, 2026-11-20 10:00) UTC"),
            ("2026-11-20-10:00", 1, "[2026-11-20 10:00, 2026-11-20 11:00) UTC"),
            ("2026-11-20-11:00", 2, "[2026-11-20 11:00, 2026-11-20 12:00) UTC"),
        ]
        hourly_rows = [
            int(str(n)) for _, n, _ in per_partition(["metrics", "metric_aggregates"], "aggregate_rows_written")
        ]
        assert hourly_rows[1] == 0  # c1's 10:05 snapshot was superseded at 11:20: nothing left in 10:00
        assert hourly_rows[0] > 0 and hourly_rows[2] > 0
        # ... and the run is a completed backfill of the instance (the UI's Backfills tab)
        [backfill] = instance.get_backfills()
        assert backfill.status == BulkActionStatus.COMPLETED_SUCCESS
        assert backfill.title == "metricstore run --from 2026-11-20-09:00 --to 2026-11-20-11:00"
        [run] = instance.get_run_records()
        assert run.dagster_run.tags["dagster/backfill"] == backfill.backfill_id
        data = backfill.asset_backfill_data
        assert data is not None
        assert data.materialized_subset == data.target_subset
        assert sorted(data.target_subset.get_partitions_subset(AssetKey(["raw", "events"])).get_partition_keys()) == [
            "2026-11-20-09:00",
            "2026-11-20-10:00",
            "2026-11-20-11:00",
        ]
