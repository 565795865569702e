"""Runs the ``hourly_metrics`` job through the local Dagster instance, so runs show in the Dagster UI."""

from __future__ import annotations

import os
import shutil
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from assets.partitions import backfill_hours_per_run, dagster_home
from assets.resources import ARRIVAL_TAG, HOST_TAG, PID_TAG, process_tags
from metricstore.config import Settings
from metricstore.run_lock import LockHolder, process_alive, writer_lock
from metricstore.warehouse import connect, sql_text
from metricstore.windows import HOUR, PARTITION_FORMAT, floor_hour, partition_key_for, utc_now

if TYPE_CHECKING:
    from dagster._core.execution.plan.objects import StepFailureData

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
# The run monitoring's per-run limit (dagster.yaml's max_runtime_seconds); "0" turns it off for a run.
MAX_RUNTIME_TAG = "dagster/max_runtime"
JOB_NAME = "hourly_metrics"
SHIPPED_CONFIG_MARK = "# The local Dagster instance ($DAGSTER_HOME/dagster.yaml, written from this file"
# Statuses of a run that holds a slot of the run queue: one whose process is gone holds it for good.
LIVE_STATUSES = [DagsterRunStatus.STARTING, DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING]
# An arrival run a backfill lets go first: waiting in the queue, or started (it may be waiting for the lock).
ARRIVAL_WAITING_STATUSES = [
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
]
# The daemon's sensor heartbeat is this recent while it runs (it beats every 30 s or so).
DAEMON_HEARTBEAT_SECONDS = 120


def ensure_dagster_home() -> Path:
    """Use $DAGSTER_HOME, else ``.dagster`` in the repository; give it our dagster.yaml when it has none."""
    home = dagster_home()
    os.environ["DAGSTER_HOME"] = str(home)
    home.mkdir(parents=True, exist_ok=True)
    config, shipped = home / "dagster.yaml", Path(__file__).with_name("dagster.yaml")
    # A dagster.yaml we wrote (it starts as ours do) follows the shipped one; a user's own is left as it is.
    if not config.exists() or (
        config.read_text().startswith(SHIPPED_CONFIG_MARK) and config.read_text() != shipped.read_text()
    ):
        shutil.copyfile(shipped, config)
    return home


def fail_dead_runs(instance: DagsterInstance, *, by_run: str) -> list[str]:
    """Mark failed every run of the hourly job that is still STARTING, STARTED or CANCELING in the instance
    although its process on this machine is gone (killed, crashed): such a run would block the queue for good.
    Runs are told apart by the pid and host tags every run gets (``process_tags``); a run on another host, or
    without them, is left to the daemon's run monitoring (orchestration/dagster.yaml). Returns their ids."""
    failed = []
    host = socket.gethostname()
    for record in instance.get_run_records(RunsFilter(job_name=JOB_NAME, statuses=LIVE_STATUSES)):
        run = record.dagster_run
        pid = run.tags.get(PID_TAG, "")
        if run.tags.get(HOST_TAG) != host or not pid.isdigit() or process_alive(int(pid)):
            continue
        instance.report_run_failed(
            run,
            f"marked failed by run {by_run}: this run's process (pid {pid} on {host}) is gone, it was killed or "
            f"crashed while {run.status.value}; rerun its partitions to complete them",
        )
        failed.append(run.run_id)
    return failed


@dataclass
class RunSummary:
    """What a run of the hourly job did, gathered from its materializations and check evaluations."""

    run_id: str
    success: bool
    first_partition: str
    last_partition: str
    seconds: float
    metadata: dict[str, dict[str, Any]] = field(default_factory=dict)
    failed_checks: list[str] = field(default_factory=list)
    error: str | None = None
    # (step, its innermost error) of each failed step
    failed_steps: list[tuple[str, str]] = field(default_factory=list)
    # input tokens, output tokens, dollars of the run's model calls (None: the warehouse could not be read)
    llm_usage: tuple[int, int, float] | None = None

    def value(self, asset: str, key: str, default: Any = 0) -> Any:
        return self.metadata.get(asset, {}).get(key, default)


def parse_partition(key: str) -> datetime:
    """A partition key ``YYYY-MM-DD-HH:00`` as the hour it names; a clear error otherwise."""
    try:
        hour = datetime.strptime(key, PARTITION_FORMAT)
    except ValueError:
        raise ValueError(f"'{key}' is not an hourly partition key like 2026-11-20-10:00") from None
    if hour.minute or partition_key_for(hour) != key:
        raise ValueError(f"'{key}' is not on the hour: partitions are whole UTC hours like 2026-11-20-10:00")
    return hour


def last_partition_key() -> str:
    """The last full UTC hour (the partitions reach the open hour after it)."""
    return partition_key_for(floor_hour(utc_now()) - HOUR)


def run_hourly_job(
    first: str,
    last: str | None = None,
    *,
    max_cost_usd: float | None = None,
    batch: bool = False,
    on_wait: Callable[[LockHolder | None], None] = lambda holder: None,
) -> RunSummary:
    """Materialize the hours ``first`` .. ``last`` (inclusive) through ``hourly_metrics``: in one run, or, while
    the Dagster daemon runs sensors (arrival runs may come), in runs of ``backfill_hours_per_run()`` hours (as a
    backfill from the UI goes) that let waiting arrival runs go first between them, so that a backfill holds fresh
    data back for one such run at most.

    Each run holds the warehouse's writer lock (metricstore/run_lock.py) from start to summary: while another run
    holds it, ``on_wait`` is told who and this one waits. Before starting, runs of the job whose process is gone
    are marked failed (:func:`fail_dead_runs`)."""
    from orchestration.backfills import new_backfill_id, record_range_backfill
    from orchestration.definitions import defs

    last = last or first
    start, end = parse_partition(first), parse_partition(last)
    if end < start:
        raise ValueError(f"--to {last} is before --from {first}")
    partitions = defs.resolve_job_def(JOB_NAME).partitions_def
    assert partitions is not None
    newest = partitions.get_last_partition_key()
    for key in (first, last):
        if not partitions.has_partition_key(key):
            raise ValueError(
                f"no partition {key}: partitions run from {partitions.get_first_partition_key()} to {newest} "
                "(the current hour; METRICSTORE_PARTITIONS_START sets the first)"
            )
    ensure_dagster_home()
    if start == end:
        return _run(first, last, None, max_cost_usd, batch, on_wait)
    backfill_id, begun = new_backfill_id(), time.time()
    with DagsterInstance.get() as instance:
        by_hour = arrivals_possible(instance)
    if by_hour:
        summaries: list[RunSummary] = []
        hour, step = start, backfill_hours_per_run()
        while hour <= end and (not summaries or summaries[-1].success):
            if summaries:
                yield_to_arrival_runs()
            until = min(hour + (step - 1) * HOUR, end)
            summaries.append(
                _run(partition_key_for(hour), partition_key_for(until), backfill_id, max_cost_usd, batch, on_wait)
            )
            hour = until + HOUR
        summary = _merged(summaries, first, last)
    else:
        summary = _run(first, last, backfill_id, max_cost_usd, batch, on_wait)
    with DagsterInstance.get() as instance:
        record_range_backfill(instance, backfill_id, first, last, started=begun, success=summary.success)
    return summary


def arrivals_possible(instance: DagsterInstance) -> bool:
    """Whether the Dagster daemon runs sensors now (its heartbeat is recent): the landing files sensor may
    request arrival runs."""
    beat = instance.get_daemon_heartbeats().get("SENSOR")
    return beat is not None and time.time() - beat.timestamp < DAEMON_HEARTBEAT_SECONDS


def yield_to_arrival_runs(timeout_seconds: float = 900.0) -> None:
    """Wait while an arrival run is queued or running (between two hours of a backfill, which holds no lock)."""
    deadline = time.monotonic() + timeout_seconds
    with DagsterInstance.get() as instance:
        while time.monotonic() < deadline:
            fail_dead_runs(instance, by_run="a backfill between its hours")
            waiting = instance.get_run_records(
                RunsFilter(job_name=JOB_NAME, statuses=ARRIVAL_WAITING_STATUSES, tags={ARRIVAL_TAG: "true"}),
                limit=1,
            )
            if not waiting:
                return
            time.sleep(1)


def _run(
    first: str,
    last: str,
    backfill_id: str | None,
    max_cost_usd: float | None,
    batch: bool,
    on_wait: Callable[[LockHolder | None], None],
) -> RunSummary:
    """One run of ``hourly_metrics`` over ``first`` .. ``last``, executed in this process."""
    from orchestration.backfills import BACKFILL_TAG
    from orchestration.definitions import defs

    job = defs.resolve_job_def(JOB_NAME)
    run_id = str(uuid.uuid4())
    with writer_lock(Settings.from_env().warehouse, run_id, on_wait), DagsterInstance.get() as instance:
        started = time.perf_counter()
        fail_dead_runs(instance, by_run=run_id)
        single = first == last
        # This process watches its own run (fail_dead_runs): the daemon's max runtime does not apply to it.
        tags = {**process_tags(), MAX_RUNTIME_TAG: "0"}
        if not single:
            tags |= {RANGE_START_TAG: first, RANGE_END_TAG: last}
        if backfill_id:
            tags |= {BACKFILL_TAG: backfill_id}
        result = job.execute_in_process(
            instance=instance,
            # The step logs stay in the run's event log (make ui); the terminal gets warnings and the summary.
            run_config={
                "loggers": {"console": {"config": {"log_level": "WARNING"}}},
                "ops": {"metrics__ai_metric_values": {"config": {"max_cost_usd": max_cost_usd, "batch": batch}}},
            },
            partition_key=first if single else None,
            run_id=run_id,
            tags=tags,
            raise_on_error=False,
        )
        summary = RunSummary(
            run_id=result.run_id,
            success=result.success,
            first_partition=first,
            last_partition=last,
            seconds=time.perf_counter() - started,
            llm_usage=_llm_usage(Settings.from_env().warehouse, run_id),
        )
    # The run's totals are the steps' outputs (a range run's materializations carry each hour's own numbers).
    for event in result.all_events:
        # (an asset's own output is "result"; its checks have outputs of their own)
        if event.is_successful_output and event.step_key and event.step_output_data.output_name == "result":
            summary.metadata[event.step_key.replace("__", "/")] = {
                k: getattr(v, "value", v) for k, v in event.step_output_data.metadata.items()
            }
    for evaluation in result.get_asset_check_evaluations():
        if not evaluation.passed:
            summary.failed_checks.append(f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}")
    if not result.success:
        summary.failed_steps = [
            (e.step_key.replace("__", "/") if e.step_key else "-", _failure_cause(e.step_failure_data))
            for e in result.all_events
            if e.is_step_failure
        ]
        if summary.failed_steps:
            summary.error = "; ".join(f"step {step} failed: {cause}" for step, cause in summary.failed_steps)
        else:  # the run failed outside a step (e.g. starting up)
            failure = next((e for e in result.all_events if e.is_run_failure), None)
            summary.error = (failure.message if failure else None) or "the run failed before any step ran"
    return summary


def _merged(summaries: list[RunSummary], first: str, last: str) -> RunSummary:
    """One summary of a range run made of several runs: counts added up, the first failure's errors."""
    merged = RunSummary(
        run_id=summaries[0].run_id,
        success=all(s.success for s in summaries),
        first_partition=first,
        last_partition=last,
        seconds=sum(s.seconds for s in summaries),
    )
    usage = [s.llm_usage for s in summaries]
    if all(u is not None for u in usage):
        merged.llm_usage = (
            sum(u[0] for u in usage if u),
            sum(u[1] for u in usage if u),
            sum(u[2] for u in usage if u),
        )
    for s in summaries:
        for asset, values in s.metadata.items():
            into = merged.metadata.setdefault(asset, {})
            for key, value in values.items():
                into[key] = _added(into.get(key), value)
        merged.failed_checks += [c for c in s.failed_checks if c not in merged.failed_checks]
        merged.failed_steps += s.failed_steps
        merged.error = merged.error or s.error
    return merged


def _added(before: Any, value: Any) -> Any:
    """Metadata of two runs together: counts (integers) added, mappings of counts added key by key, anything else
    (a rate, a window, a table) the later run's."""
    if isinstance(value, bool) or before is None:
        return value
    if isinstance(value, int) and isinstance(before, int) and not isinstance(before, bool):
        return before + value
    if isinstance(value, dict) and isinstance(before, dict):
        return {k: _added(before.get(k), v) for k, v in value.items()} | {
            k: v for k, v in before.items() if k not in value
        }
    return value


def _failure_cause(failure: StepFailureData) -> str:
    """The innermost error of a failed step, with the details a Failure carries (file, line, metric, workspace)
    and the place in the code it was raised."""
    error = failure.error
    if error is None:
        return "no error recorded"
    # Dagster wraps the user's exception in its own, whose message names only the step.
    while error.cause is not None and (error.cls_name or "").startswith("Dagster"):
        error = error.cause
    text = error.message.strip()
    name = error.cls_name or ""
    text = text.split(f"{name}: ", 1)[1] if f"{name}: " in text.split("\n", 1)[0] else text
    if name and name != "Failure":  # a Failure's description is the message meant for the user
        text = f"{name}: {text}"
    details = failure.user_failure_data.metadata if failure.user_failure_data else {}
    if details:
        text += " (" + ", ".join(f"{k}={getattr(v, 'value', v)}" for k, v in details.items()) + ")"
    if error.stack:
        text += f" [{error.stack[-1].strip().splitlines()[0]}]"
    return text


def _llm_usage(warehouse: Path, run_id: str) -> tuple[int, int, float] | None:
    """The run's model usage from ops.llm_calls, read under the writer lock; None when it cannot be read."""
    try:
        # Opened as the job opens it: a connection the run left open in this process is then shared, not refused.
        with connect(warehouse) as conn:
            row = conn.execute(sql_text("runs/llm_usage.sql"), [run_id]).fetchone()
    except duckdb.Error:
        return None
    assert row is not None
    return int(row[0]), int(row[1]), float(row[2])


def hours_between(first: str, last: str) -> int:
    return int((parse_partition(last) - parse_partition(first)) / HOUR) + 1
