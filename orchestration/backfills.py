"""A range run of `metricstore run` recorded as a backfill of the instance, so it shows in the UI's Backfills.

The run executes in the CLI's process (``execute_in_process``), not through the backfill daemon: it is tagged
``dagster/backfill`` with an id made up front, and the backfill is added once the run has ended, already
completed (a requested one would be launched again by the daemon). While the run goes on, it shows under Runs.

``request_backfill`` requests what the UI requests instead, for the daemon to run (the tests and `make bench` use
it to drive the daemon's own backfill planning).
"""

from __future__ import annotations

import random
import string
import time

from dagster import DagsterInstance, PartitionKeyRange
from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill

from orchestration.definitions import defs

BACKFILL_TAG = "dagster/backfill"


def new_backfill_id() -> str:
    """An id shaped like the daemon's (8 lowercase letters)."""
    return "".join(random.choice(string.ascii_lowercase) for _ in range(8))


def record_range_backfill(
    instance: DagsterInstance, backfill_id: str, first: str, last: str, *, started: float, success: bool
) -> None:
    """Add the ended range run ``first`` .. ``last`` as a completed backfill of every asset of the job."""
    backfill = _every_asset(
        instance,
        backfill_id,
        first,
        last,
        started=started,
        title=f"metricstore run --from {first} --to {last}",
        description="one run over the range, executed by the metricstore command",
    )
    data = backfill.asset_backfill_data
    assert data is not None
    target = data.target_subset
    data = data._replace(
        requested_runs_for_target_roots=True,
        requested_subset=target,
        materialized_subset=target if success else data.materialized_subset,
        failed_and_downstream_subset=data.failed_and_downstream_subset if success else target,
    )
    status = BulkActionStatus.COMPLETED_SUCCESS if success else BulkActionStatus.COMPLETED_FAILED
    instance.add_backfill(
        backfill._replace(asset_backfill_data=data).with_status(status).with_end_timestamp(time.time())
    )


def request_backfill(instance: DagsterInstance, first: str, last: str) -> str:
    """Request the backfill of every asset over ``first`` .. ``last`` that the UI's "Materialize" over that range
    requests, for the daemon to plan and queue (in runs of the assets' backfill policy); return its id."""
    backfill_id = new_backfill_id()
    backfill = _every_asset(instance, backfill_id, first, last, started=time.time(), title=None, description=None)
    instance.add_backfill(backfill.with_status(BulkActionStatus.REQUESTED))
    return backfill_id


def _every_asset(
    instance: DagsterInstance,
    backfill_id: str,
    first: str,
    last: str,
    *,
    started: float,
    title: str | None,
    description: str | None,
) -> PartitionBackfill:
    graph = defs.resolve_asset_graph()
    partitions = defs.resolve_job_def("hourly_metrics").partitions_def
    assert partitions is not None
    return PartitionBackfill.from_asset_partitions(
        backfill_id=backfill_id,
        asset_graph=graph,
        partition_names=partitions.get_partition_keys_in_range(PartitionKeyRange(first, last)),
        asset_selection=sorted(graph.materializable_asset_keys),
        backfill_timestamp=started,
        tags={BACKFILL_TAG: backfill_id},
        dynamic_partitions_store=instance,
        all_partitions=False,
        title=title,
        description=description,
        run_config=None,
    )
