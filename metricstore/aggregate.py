"""Aggregates: the eight aggregations, hourly and daily, production and simulation apart."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import polars as pl

from metricstore.catalog_loader import MetricCatalog
from metricstore.warehouse import prepare, register_frame, run_script, scalar, transaction, unordered
from metricstore.windows import DAY, HOUR, TimeWindow, utc_now


@dataclass(frozen=True)
class AggregateResult:
    hours: int
    days: int
    rows_written: int
    stale_hours_recomputed: int


def aggregate_specs(catalog: MetricCatalog, workspaces: list[str]) -> pl.DataFrame:
    """(workspace, metric) → aggregation, and for ratios the two metrics and the numerator's aggregation."""
    rows: list[dict[str, Any]] = []
    for ws in workspaces:
        defs = {d.definition.key: d.definition for d in catalog.definitions_for(ws)}
        for d in defs.values():
            ratio = d.ratio_of
            numerator = defs.get(ratio.numerator) if ratio else None
            rows.append(
                {
                    "workspace_id": ws,
                    "metric_key": d.key,
                    "aggregation": d.aggregation,
                    "numerator": ratio.numerator if ratio else None,
                    "denominator": ratio.denominator if ratio else None,
                    "numerator_aggregation": numerator.aggregation if numerator else None,
                    # static and sql_expr values are unique per entity (each extraction replaces every version
                    # in its window); only AI values may hold several versions that need the latest picked
                    "latest_only": d.computed_mode not in ("static", "sql_expr"),
                }
            )
    return pl.DataFrame(
        rows,
        schema={
            "workspace_id": pl.String,
            "metric_key": pl.String,
            "aggregation": pl.String,
            "numerator": pl.String,
            "denominator": pl.String,
            "numerator_aggregation": pl.String,
            "latest_only": pl.Boolean,
        },
    )


def aggregate_window(conn: duckdb.DuckDBPyConnection, catalog: MetricCatalog, window: TimeWindow) -> AggregateResult:
    """Recompute the hourly aggregates of the window's hours and of hours marked stale, and the daily
    aggregates of every day they touch (one transaction)."""
    prepare(conn)
    with unordered(conn):
        return _aggregate(conn, catalog, window)


def _aggregate(conn: duckdb.DuckDBPyConnection, catalog: MetricCatalog, window: TimeWindow) -> AggregateResult:
    with transaction(conn):
        stale = [r[0] for r in conn.execute("SELECT DISTINCT period_start FROM ops.stale_periods").fetchall()]
        hours = sorted(set(window.hours()) | set(stale))
        days = sorted({h.replace(hour=0) for h in hours})
        workspaces = sorted(
            set(catalog.workspaces)
            | {
                r[0]
                for r in conn.execute(
                    "SELECT DISTINCT workspace_id FROM metrics.metric_values "
                    "WHERE occurred_at >= ? AND occurred_at < ?",
                    [days[0], days[-1] + DAY],
                ).fetchall()
            }
        )
        register_frame(conn, "agg_specs", aggregate_specs(catalog, workspaces))
        register_frame(conn, "agg_hours", _periods(hours))
        register_frame(conn, "agg_days", _periods(days))
        params = {
            "range_start": hours[0],
            "range_end": hours[-1] + HOUR,
            "days_start": days[0],
            "days_end": days[-1] + DAY,
            "computed_at": utc_now(),
        }
        run_script(conn, "aggregates/recompute.sql", params)
        written = scalar(
            conn, "SELECT count(*) FROM metrics.metric_aggregates WHERE computed_at = ?", [params["computed_at"]]
        )
        conn.execute("DELETE FROM ops.stale_periods")
        # The days whose values changed: the next publish rewrites their Parquet parts (metricstore/published.py).
        conn.executemany("INSERT OR IGNORE INTO ops.publish_pending VALUES (?)", [[d.date()] for d in days])
    return AggregateResult(
        hours=len(hours),
        days=len(days),
        rows_written=int(written),
        stale_hours_recomputed=len(set(stale) - set(window.hours())),
    )


def _periods(starts: list[datetime]) -> pl.DataFrame:
    return pl.DataFrame({"period_start": starts}, schema={"period_start": pl.Datetime("us")})
