"""The code location (workspace.yaml → ``orchestration.definitions``): assets, job, schedule, resources."""

from dagster import (
    AssetSelection,
    Definitions,
    build_schedule_from_partitioned_job,
    define_asset_job,
    in_process_executor,
)

from assets.ai import ai_metric_values
from assets.delivery import post_call_webhooks
from assets.ingestion import landed_events
from assets.metrics import metric_aggregates, metric_values
from assets.resources import MetricStoreResource
from assets.serving import published_warehouse

# Steps share one DuckDB file, which takes one writer at a time: run them one after another in one process.
hourly_metrics = define_asset_job(
    "hourly_metrics",
    selection=AssetSelection.all(),
    executor_def=in_process_executor,
    description="Ingest the hour's landing events, compute static and AI metric values, recompute aggregates, "
    "publish them for readers, send the post-call webhooks.",
)

hourly_metrics_schedule = build_schedule_from_partitioned_job(
    hourly_metrics,
    minute_of_hour=5,
    description="Each hour, five minutes past, runs the hour that just ended.",
)

defs = Definitions(
    assets=[landed_events, metric_values, ai_metric_values, metric_aggregates, published_warehouse, post_call_webhooks],
    jobs=[hourly_metrics],
    schedules=[hourly_metrics_schedule],
    resources={"metricstore": MetricStoreResource()},
)
