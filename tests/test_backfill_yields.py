"""A backfill while the Dagster daemon runs sensors goes one hour per run and lets waiting arrival runs go first
between its hours, so that fresh data waits one hour's run at most; its summary adds the hours' counts up."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance, DagsterRun, DagsterRunStatus, RunsFilter

from assets.resources import ARRIVAL_TAG
from orchestration import runner
from orchestration.runner import RunSummary, ensure_dagster_home, run_hourly_job
from tests.test_cli_run import _env


def test_a_backfill_goes_hour_by_hour_and_lets_a_waiting_arrival_run_go_first(
    tmp_path: Path, small_landing: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in _env(tmp_path, small_landing).items():
        if key.startswith(("METRICSTORE_", "DAGSTER_HOME")):
            monkeypatch.setenv(key, value)
    monkeypatch.setattr(runner, "arrivals_possible", lambda instance: True)
    ensure_dagster_home()
    with DagsterInstance.get() as instance:  # an arrival run waits in the queue
        instance.add_run(
            DagsterRun(
                job_name="hourly_metrics",
                run_id="arrival-run",
                status=DagsterRunStatus.NOT_STARTED,
                tags={ARRIVAL_TAG: "true", "dagster/partition": "2026-11-20-12:00"},
            )
        )
    arrival_ended: list[float] = []

    def arrival_run_ends() -> None:  # five seconds after the backfill's first hour ended
        with DagsterInstance.get() as instance:
            first_hour = RunsFilter(tags={"dagster/partition": "2026-11-20-09:00"})
            while not any(r.end_time for r in instance.get_run_records(first_hour)):
                time.sleep(0.1)
            time.sleep(5)
            instance.delete_run("arrival-run")
        arrival_ended.append(time.time())

    threading.Thread(target=arrival_run_ends).start()
    summary = run_hourly_job("2026-11-20-09:00", "2026-11-20-11:00")
    assert summary.success
    with DagsterInstance.get() as instance:
        records = instance.get_run_records(RunsFilter(job_name="hourly_metrics"), ascending=True)
        backfills = instance.get_backfills()
    assert [r.dagster_run.tags["dagster/partition"] for r in records] == [
        "2026-11-20-09:00",
        "2026-11-20-10:00",
        "2026-11-20-11:00",
    ]
    assert len({r.dagster_run.tags["dagster/backfill"] for r in records}) == 1 and len(backfills) == 1
    # the first hour ran at once; the second waited for the arrival run to end (5 s after the first hour)
    assert records[0].start_time is not None and records[0].start_time < arrival_ended[0]
    assert records[1].start_time is not None and records[1].start_time >= arrival_ended[0]
    assert summary.metadata["raw/events"]["events_ingested"] == 4  # 1 + 0 + 3 (one delivered twice)
    with duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True) as conn:
        daily = conn.execute(
            "SELECT value, sample_count FROM metrics.metric_aggregates WHERE metric_key = 'call_volume' "
            "AND granularity = 'daily' AND source = 'production'"
        ).fetchall()
    assert daily == [(3.0, 3)]  # as one run over the range gives (test_cli_run)


def test_a_summary_of_several_runs_adds_counts_and_keeps_the_later_rates() -> None:
    def one(events: int, coverage: float, success: bool) -> RunSummary:
        summary = RunSummary("r", success, "a", "a", 1.0, llm_usage=(10, 2, 0.5))
        summary.metadata["raw/events"] = {"events_ingested": events, "coverage": coverage, "by": {"x": events}}
        return summary

    merged = runner._merged([one(3, 0.5, True), one(4, 0.9, False)], "a", "b")
    assert merged.metadata["raw/events"] == {"events_ingested": 7, "coverage": 0.9, "by": {"x": 7}}
    assert (merged.success, merged.seconds, merged.llm_usage) == (False, 2.0, (20, 4, 1.0))


def test_a_backfill_beside_the_daemon_goes_in_runs_of_the_configured_hours(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setenv("METRICSTORE_BACKFILL_HOURS_PER_RUN", "2")
    monkeypatch.setattr(runner, "arrivals_possible", lambda instance: True)
    yielded: list[str] = []
    monkeypatch.setattr(runner, "yield_to_arrival_runs", lambda: yielded.append("yield"))
    ran: list[tuple[str, str]] = []

    def run(first: str, last: str, *args: object) -> RunSummary:
        ran.append((first, last))
        return RunSummary("r", True, first, last, 1.0)

    monkeypatch.setattr(runner, "_run", run)
    summary = run_hourly_job("2026-11-20-09:00", "2026-11-20-13:00")
    assert ran == [
        ("2026-11-20-09:00", "2026-11-20-10:00"),
        ("2026-11-20-11:00", "2026-11-20-12:00"),
        ("2026-11-20-13:00", "2026-11-20-13:00"),
    ]
    assert yielded == ["yield", "yield"]  # between runs, not before the first
    assert (summary.first_partition, summary.last_partition, summary.success) == (
        "2026-11-20-09:00",
        "2026-11-20-13:00",
        True,
    )
