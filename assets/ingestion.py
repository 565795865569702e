"""Ingestion: landing files → ``raw.events`` for the run's window, malformed lines → ``ops.quarantine``."""

import time

from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    MaterializeResult,
    MetadataValue,
    asset,
)

from assets.partitions import hourly_partitions, range_backfill
from assets.resources import MetricStoreResource
from assets.windows import markdown_table, per_hour_metadata, run_window
from metricstore import quality
from metricstore.hourly_rows import rows_per_hour
from metricstore.ingest import ingest_window


@asset(
    key_prefix=["raw"],
    name="events",
    group_name="ingestion",
    partitions_def=hourly_partitions,
    backfill_policy=range_backfill,
    kinds={"duckdb"},
    description=(
        "Every valid landing event of the hour (one row per event_id across all hours); bad lines and unreadable "
        "or unsupported files go to ops.quarantine."
    ),
    check_specs=[
        AssetCheckSpec(
            "event_ids_unique",
            asset=["raw", "events"],
            blocking=True,
            description="No event_id of the window's events is stored twice anywhere in raw.events (one event_id "
            "is one event across hours).",
        )
    ],
)
def landed_events(context: AssetExecutionContext, metricstore: MetricStoreResource) -> MaterializeResult:
    window = run_window(context)
    settings = metricstore.settings()
    started = time.perf_counter()
    with metricstore.connect() as conn:
        result = ingest_window(conn, settings.landing, window)
        duplicates = quality.duplicate_event_ids(conn, window)
        per_hour_metadata(context, "events_ingested", rows_per_hour(conn, "events", window))
    seconds = time.perf_counter() - started
    if result.quarantined:
        context.log.warning(
            f"{result.quarantined} malformed landing lines or unreadable files quarantined (see ops.quarantine)"
        )
    if result.files_removed:
        context.log.warning(
            f"{result.files_removed} landing files removed since they were read: "
            f"{result.events_removed} events left the warehouse with their metric values"
        )
    return MaterializeResult(
        metadata={
            "window": str(window),
            "events_ingested": result.events_ingested,
            "quarantined_lines": result.quarantined,
            "duplicates_dropped": result.duplicates_dropped,
            "files_read": result.files_read,
            "files_seen": result.files_seen,
            "files_unreadable": result.files_unreadable,
            "files_removed": result.files_removed,
            "events_removed": result.events_removed,
            "lines_read": result.lines_read,
            "lines_per_second": round(result.lines_read / seconds, 1) if seconds > 0 else 0.0,
            "by_source": MetadataValue.md(
                markdown_table(("source", "events"), sorted(result.events_by_source.items()))
            ),
        },
        check_results=[
            AssetCheckResult(
                check_name="event_ids_unique",
                passed=duplicates == 0,
                metadata={"duplicated_event_ids": duplicates},
            )
        ],
    )
