"""Publishing: after the run's metrics are committed, readers get them all at once (metricstore/published.py)."""

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from assets.metrics import metric_aggregates
from assets.partitions import hourly_partitions, range_backfill
from assets.resources import MetricStoreResource
from metricstore.published import publish

PUBLISHED_KEY = ["serving", "published_warehouse"]


@asset(
    key=PUBLISHED_KEY,
    deps=[metric_aggregates],
    group_name="serving",
    partitions_def=hourly_partitions,
    backfill_policy=range_backfill,
    kinds={"duckdb", "parquet"},
    description="The read-only snapshot the API, `metricstore query` and analysts open: the days this run changed "
    "as new Parquet parts, and a small DuckDB file over them put in place by an atomic rename.",
)
def published_warehouse(context: AssetExecutionContext, metricstore: MetricStoreResource) -> MaterializeResult:
    settings = metricstore.settings()
    with metricstore.connect() as conn:
        result = publish(conn, settings.published)
    context.log.info(f"published {result.path} ({result.days_republished} day(s) rewritten)")
    return MaterializeResult(
        metadata={
            "path": MetadataValue.path(str(result.path)),
            "days_republished": result.days_republished,
            "parts_written": result.parts_written,
            "rows_written": result.rows_written,
            "bytes_written": result.bytes_written,
            "snapshot_bytes": result.snapshot_bytes,
            "parts_deleted": result.parts_deleted,
            "publish_seconds": round(result.seconds, 3),
        }
    )
