"""Runs the ``hourly_metrics`` job through the local Dagster instance, so runs show in the Dagster UI."""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from dagster import DagsterInstance

from metricstore.windows import HOUR, PARTITION_FORMAT, partition_key_for

REPO_ROOT = Path(__file__).resolve().parent.parent
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def ensure_dagster_home() -> Path:
    """Use $DAGSTER_HOME, else ``.dagster`` in the repository; give it our dagster.yaml when it has none."""
    home = Path(os.environ.get("DAGSTER_HOME") or REPO_ROOT / ".dagster").resolve()
    os.environ["DAGSTER_HOME"] = str(home)
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        shutil.copyfile(Path(__file__).with_name("dagster.yaml"), config)
    return home


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
    """The newest partition: the last full UTC hour."""
    from orchestration.definitions import defs

    partitions = defs.resolve_job_def("hourly_metrics").partitions_def
    assert partitions is not None
    key = partitions.get_last_partition_key()
    assert key is not None
    return key


def run_hourly_job(
    first: str, last: str | None = None, *, max_cost_usd: float | None = None, batch: bool = False
) -> RunSummary:
    """Materialize the hours ``first`` .. ``last`` (inclusive) in one run of ``hourly_metrics``."""
    from orchestration.definitions import defs

    last = last or first
    start, end = parse_partition(first), parse_partition(last)
    if end < start:
        raise ValueError(f"--to {last} is before --from {first}")
    job = defs.resolve_job_def("hourly_metrics")
    partitions = job.partitions_def
    assert partitions is not None
    newest = partitions.get_last_partition_key()
    for key in (first, last):
        if not partitions.has_partition_key(key):
            raise ValueError(
                f"no partition {key}: partitions run from 2025-01-01-00:00 to {newest} (the last full hour)"
            )
    ensure_dagster_home()
    started = time.perf_counter()
    with DagsterInstance.get() as instance:
        single = start == end
        result = job.execute_in_process(
            instance=instance,
            # The step logs stay in the run's event log (make ui); the terminal gets warnings and the summary.
            run_config={
                "loggers": {"console": {"config": {"log_level": "WARNING"}}},
                "ops": {"metrics__ai_metric_values": {"config": {"max_cost_usd": max_cost_usd, "batch": batch}}},
            },
            partition_key=first if single else None,
            tags={} if single else {RANGE_START_TAG: first, RANGE_END_TAG: last},
            raise_on_error=False,
        )
    summary = RunSummary(
        run_id=result.run_id,
        success=result.success,
        first_partition=first,
        last_partition=last,
        seconds=time.perf_counter() - started,
    )
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        summary.metadata[materialization.asset_key.to_user_string()] = {
            k: getattr(v, "value", v) for k, v in materialization.metadata.items()
        }
    for evaluation in result.get_asset_check_evaluations():
        if not evaluation.passed:
            summary.failed_checks.append(f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}")
    if not result.success:
        failure = next((e for e in result.all_events if e.is_step_failure), None)
        error = failure.step_failure_data.error if failure else None
        summary.error = error.message.strip() if error else "the run failed"
    return summary


def hours_between(first: str, last: str) -> int:
    return int((parse_partition(last) - parse_partition(first)) / HOUR) + 1
