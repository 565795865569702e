"""The code location (workspace.yaml → ``orchestration.definitions``): assets, job, schedule, sensor, resources."""

from dagster import Definitions

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
)
