"""Metric facts and aggregates for the run's window."""

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)

from assets.ingestion import landed_events
from assets.partitions import hourly_partitions, range_backfill
from assets.resources import MetricStoreResource
from assets.windows import markdown_table, per_hour_metadata, run_window
from metricstore import quality
from metricstore.aggregate import aggregate_window
from metricstore.catalog import write_catalog_table
from metricstore.catalog_loader import DefinitionsInvalid
from metricstore.extract import extract_window
from metricstore.hourly_rows import rows_per_hour

VALUES_KEY = ["metrics", "metric_values"]
AGGREGATES_KEY = ["metrics", "metric_aggregates"]


@asset(
    key=VALUES_KEY,
    deps=[landed_events],
    group_name="metrics",
    partitions_def=hourly_partitions,
    backfill_policy=range_backfill,
    kinds={"duckdb"},
    description="One row per metric, entity and definition version: static and sql_expr metrics.",
    check_specs=[
        AssetCheckSpec(
            "one_value_per_entity",
            asset=VALUES_KEY,
            blocking=True,
            description="One row per metric, entity and definition version in the window.",
        ),
        AssetCheckSpec(
            "required_metrics_present",
            asset=VALUES_KEY,
            blocking=True,
            description="Every entity carries a value for each metric marked is_required.",
        ),
        AssetCheckSpec(
            "custom_definitions_valid",
            asset=VALUES_KEY,
            description="Every workspace's custom definitions are valid. An invalid one is refused (file, key, "
            "field, message) and not computed, nor a ratio that reads it; the workspace's other metrics and every "
            "other workspace compute as usual.",
        ),
        AssetCheckSpec(
            "metric_sql_ran",
            asset=VALUES_KEY,
            description="Every static and sql_expr metric's SQL ran on the window's data. One that fails (a cast "
            "its data cannot take) has no values for the window and is named with DuckDB's error; the other "
            "metrics are written.",
        ),
    ],
)
def metric_values(context: AssetExecutionContext, metricstore: MetricStoreResource) -> MaterializeResult:
    window = run_window(context)
    try:
        catalog = metricstore.catalog()
    except DefinitionsInvalid as exc:
        raise Failure(description=f"built-in metric definitions are invalid:\n{exc}") from exc
    with metricstore.connect() as conn:
        definitions = write_catalog_table(conn, catalog)
        result = extract_window(conn, catalog, window)
        duplicates = quality.duplicate_metric_values(conn, window)
        missing = quality.missing_required_values(conn, window)
        unconfigured = quality.events_without_definitions(conn, window, catalog.workspaces)
        per_hour_metadata(context, "values_written", rows_per_hour(conn, "metric_values", window))
    if unconfigured:
        context.log.warning(
            "events of workspaces without a definitions folder (built-in metrics only): "
            + ", ".join(f"{ws} ({n} events)" for ws, n in unconfigured)
        )
    by_metric = sorted(result.values_by_metric.items())
    refused = [(ws, e.file, e.key, e.field, e.message) for ws, e in catalog.refusals]
    if refused:
        context.log.warning(
            f"{len(refused)} custom definition error(s) in {len(catalog.refused)} workspace(s); those definitions "
            "are not computed:\n" + "\n".join(f"{ws}: {e}" for ws, e in catalog.refusals)
        )
    failed = [(f.workspace_id, f.metric_key, f.reason) for f in result.failed_metrics]
    if failed:
        context.log.warning(
            f"{len(failed)} metric(s) failed on the window's data and have no values for it:\n"
            + "\n".join(f"{ws}: {key}: {reason}" for ws, key, reason in failed)
        )
    refused_table = MetadataValue.md(markdown_table(("workspace", "file", "key", "field", "message"), refused))
    return MaterializeResult(
        metadata={
            "window": str(window),
            "entities": result.entities,
            "values_written": result.values_written,
            "metrics_computed": len(by_metric),
            "definitions": definitions,
            "values_ok": result.values_by_status.get("ok", 0),
            "values_out_of_range": result.values_by_status.get("out_of_range", 0),
            "values_invalid": result.values_by_status.get("invalid", 0),
            "stale_hours_marked": result.stale_hours,
            "values_by_metric": MetadataValue.md(markdown_table(("metric", "values"), by_metric)),
            "events_without_definitions": sum(n for _, n in unconfigured),
            "workspaces_without_definitions": MetadataValue.json(dict(unconfigured)),
            "definitions_refused": len(refused),
            "workspaces_with_refused_definitions": MetadataValue.json(sorted(catalog.refused)),
            "metrics_failed": len(failed),
        },
        check_results=[
            AssetCheckResult(
                check_name="one_value_per_entity",
                passed=duplicates == 0,
                metadata={"duplicated_keys": duplicates},
            ),
            AssetCheckResult(
                check_name="required_metrics_present",
                passed=missing == 0,
                metadata={"missing_required_values": missing},
            ),
            AssetCheckResult(
                check_name="custom_definitions_valid",
                passed=not refused,
                description="; ".join(f"{ws}: {e}" for ws, e in catalog.refusals)[:2000] or None,
                metadata={"definitions_refused": len(refused), "refused": refused_table},
            ),
            AssetCheckResult(
                check_name="metric_sql_ran",
                passed=not failed,
                description="; ".join(f"{ws}: {key}: {reason}" for ws, key, reason in failed)[:2000] or None,
                metadata={
                    "metrics_failed": len(failed),
                    "failed": MetadataValue.md(markdown_table(("workspace", "metric", "error"), failed)),
                },
            ),
        ],
    )


@asset(
    key=AGGREGATES_KEY,
    deps=[metric_values, AssetKey(["metrics", "ai_metric_values"])],
    group_name="metrics",
    partitions_def=hourly_partitions,
    backfill_policy=range_backfill,
    kinds={"duckdb"},
    description="Hourly and daily aggregates per metric and source; feeds metric_latest and metric_trend.",
    check_specs=[
        AssetCheckSpec(
            "one_row_per_period",
            asset=AGGREGATES_KEY,
            blocking=True,
            description="One aggregate row per metric, granularity, period and source.",
        ),
        AssetCheckSpec(
            "rates_within_unit_interval",
            asset=AGGREGATES_KEY,
            description="Every ratio and rate aggregate lies between 0 and 1.",
        ),
    ],
)
def metric_aggregates(context: AssetExecutionContext, metricstore: MetricStoreResource) -> MaterializeResult:
    window = run_window(context)
    catalog = metricstore.catalog()
    with metricstore.connect() as conn:
        result = aggregate_window(conn, catalog, window)
        duplicates = quality.duplicate_aggregates(conn, window)
        bad_rates = quality.rates_outside_unit_interval(conn, window)
        per_hour_metadata(context, "aggregate_rows_written", rows_per_hour(conn, "hourly_aggregates", window))
        preview = conn.execute(
            "SELECT metric_key, source, round(value, 3), sample_count FROM metrics.metric_aggregates "
            "WHERE granularity = 'daily' AND period_start = date_trunc('day', ?::TIMESTAMP) "
            "ORDER BY metric_key, source LIMIT 60",
            [window.start],
        ).fetchall()
    return MaterializeResult(
        metadata={
            "window": str(window),
            "aggregate_rows_written": result.rows_written,
            "hours_recomputed": result.hours,
            "days_recomputed": result.days,
            "stale_hours_recomputed": result.stale_hours_recomputed,
            "daily_preview": MetadataValue.md(markdown_table(("metric", "source", "value", "n"), preview)),
        },
        check_results=[
            AssetCheckResult(
                check_name="one_row_per_period",
                passed=duplicates == 0,
                metadata={"duplicated_keys": duplicates},
            ),
            AssetCheckResult(
                check_name="rates_within_unit_interval",
                passed=bad_rates == 0,
                severity=AssetCheckSeverity.ERROR,
                metadata={"rates_outside": bad_rates},
            ),
        ],
    )
