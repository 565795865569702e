"""The job and its schedule: every asset, one hour partition (or a range of them) per run."""

from dagster import (
    AssetSelection,
    RunRequest,
    ScheduleEvaluationContext,
    define_asset_job,
    schedule,
)

from metricstore.windows import HOUR, floor_hour, partition_key_for

# (its executor is the code location's: orchestration/definitions.py)
hourly_metrics = define_asset_job(
    "hourly_metrics",
    selection=AssetSelection.all(),
    description="Ingest the hour's landing events, compute static and AI metric values, recompute aggregates, "
    "publish them for readers, send the post-call webhooks.",
)


@schedule(
    job=hourly_metrics,
    cron_schedule="5 * * * *",
    execution_timezone="UTC",
    description="Each hour, five minutes past, runs the hour that just ended.",
)
def hourly_metrics_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    # (the partitions reach the open hour, so the job's own partitioned schedule would run that one)
    key = partition_key_for(floor_hour(context.scheduled_execution_time) - HOUR)
    return RunRequest(run_key=key, partition_key=key)
