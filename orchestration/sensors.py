"""The landing files sensor: a run of every hour partition that new, changed or removed landing files touch, the
open hour included, so that static metrics (and, for workspaces that ask for it, AI metrics and webhooks) are
fresh within minutes instead of at the next hourly run.

A sensor rather than declarative automation: the files are outside Dagster, so something has to look at the
folder and say which hours changed; a sensor does that in one place, keeps what it has seen (in a state file its
cursor names: orchestration/sensor_state.py), tags each run with the files that caused it, and can leave an hour
alone while a run of it is still queued.
"""

from __future__ import annotations

import json

from dagster import (
    DagsterInstance,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunRequest,
    RunsFilter,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from assets.partitions import hourly_partitions
from assets.resources import ARRIVAL_TAG, FILES_TAG
from metricstore.arrivals import MAX_FILES_PER_LOOK, SETTLE_SECONDS, ingested, look
from metricstore.config import Settings
from metricstore.windows import utc_now
from orchestration.jobs import hourly_metrics
from orchestration.sensor_state import load_seen, save_seen, state_folder

PARTITION_TAG = "dagster/partition"
# Arrival runs go before backfills and other runs waiting in the queue (higher runs first).
PRIORITY_TAG = "dagster/priority"
ARRIVAL_PRIORITY = "10"
FILES_SHOWN = 5
WAITING_STATUSES = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED]


@sensor(
    job=hourly_metrics,
    minimum_interval_seconds=10,
    default_status=DefaultSensorStatus.RUNNING,
    description="Looks at the landing folder every 10 s and requests a run of each hour partition that new, "
    "changed or removed files touch (the open hour included); an hour that already has a run waiting in the "
    "queue is left to it. Files are read once settled (unchanged for 2 s); hidden files are still being written.",
)
def landing_files_sensor(context: SensorEvaluationContext) -> SensorResult | SkipReason:
    cursor = json.loads(context.cursor) if context.cursor else {}
    settings = Settings.from_env()
    number, waiting = cursor.get("state", 0), cursor.get("waiting", {})
    seen = load_seen(number) if number else None
    if seen is None:  # a first look (or its state file is gone): what the last published run had read
        if number:
            context.log.warning(f"state {number} of the cursor is gone from {state_folder()}: starting afresh")
        seen, number = ingested(settings.published), 0
    found = look(settings.landing, seen, utc_now())
    for key, files in waiting.items():  # hours that had not opened yet at an earlier look
        found.hours.setdefault(key, []).extend(f for f in files if f not in found.hours.get(key, []))
    requests, still_waiting = [], {}
    for key, files in sorted(found.hours.items()):
        if not hourly_partitions.has_partition_key(key) and key > (hourly_partitions.get_last_partition_key() or ""):
            still_waiting[key] = files  # events ahead of the clock: their hour is requested once it opens
            continue
        if not hourly_partitions.has_partition_key(key):
            context.log.warning(f"{len(files)} landing files touch {key}, before the first partition: not run")
            continue
        if _queued(context.instance, key):
            context.log.info(f"{key}: a run is already queued and will read {len(files)} changed files")
            continue
        requests.append(arrival_request(key, files))
    if found.seen != seen or not number:
        number += 1
        save_seen(found.seen, number)
    new_cursor = json.dumps({"state": number, "files": len(found.seen), "waiting": still_waiting})
    if found.settling:
        context.log.info(f"{len(found.settling)} files changed less than {SETTLE_SECONDS:g} s ago: read later")
    if found.deferred:
        context.log.info(f"{found.deferred} changed files beyond this look's {MAX_FILES_PER_LOOK}: read next time")
    if not requests:
        return SensorResult(skip_reason=SkipReason("no landing file changed"), cursor=new_cursor)
    return SensorResult(run_requests=requests, cursor=new_cursor)


def arrival_request(partition_key: str, files: list[str]) -> RunRequest:
    """A run of one hour for arrived files, tagged with them."""
    shown = ", ".join(sorted(files)[:FILES_SHOWN])
    more = len(files) - FILES_SHOWN
    return RunRequest(
        partition_key=partition_key,
        tags={
            ARRIVAL_TAG: "true",
            FILES_TAG: shown + (f" and {more} more" if more > 0 else ""),
            PRIORITY_TAG: ARRIVAL_PRIORITY,
        },
    )


def _queued(instance: DagsterInstance, partition_key: str) -> bool:
    """Whether a run of the job for this hour waits to start: it will read the landing folder when it does."""
    records = instance.get_run_records(
        RunsFilter(job_name=hourly_metrics.name, statuses=WAITING_STATUSES, tags={PARTITION_TAG: partition_key}),
        limit=1,
    )
    return bool(records)
