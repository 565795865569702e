"""The code location (workspace.yaml → ``orchestration.definitions``): assets, job, schedule, sensor, resources."""

from dagster import Definitions, in_process_executor

from assets.ai import ai_metric_values
from assets.delivery import post_call_webhooks
from assets.ingestion import landed_events
from assets.metrics import metric_aggregates, metric_values
from assets.resources import MetricStoreResource
from assets.serving import published_warehouse
from orchestration.jobs import hourly_metrics, hourly_metrics_schedule
from orchestration.sensors import landing_files_sensor

defs = Definitions(
    assets=[landed_events, metric_values, ai_metric_values, metric_aggregates, published_warehouse, post_call_webhooks],
    jobs=[hourly_metrics],
    schedules=[hourly_metrics_schedule],
    sensors=[landing_files_sensor],
    resources={"metricstore": MetricStoreResource()},
    # Steps share one DuckDB file, which takes one writer at a time: every job runs them one after another in one
    # process. Set here, it holds for `hourly_metrics` and for the runs the UI launches (a backfill, a
    # "Materialize" of some assets), which would otherwise start a process per step.
    executor=in_process_executor,
)
