"""Rows per hour of a run's window: what each hour of a range run holds after it, for per-partition metadata."""

from __future__ import annotations

from datetime import datetime

import duckdb

from metricstore.warehouse import render_sql
from metricstore.windows import TimeWindow

# table → (relation, time column, condition): the only code rows_per_hour renders into its SQL
TABLES = {
    "events": ("raw.events", "occurred_at", "TRUE"),
    "metric_values": ("metrics.metric_values", "occurred_at", "TRUE"),
    "hourly_aggregates": ("metrics.metric_aggregates", "period_start", "granularity = 'hourly'"),
}


def rows_per_hour(conn: duckdb.DuckDBPyConnection, table: str, window: TimeWindow) -> dict[datetime, int]:
    """Rows of ``table`` (a key of :data:`TABLES`) in each hour of the window; hours without rows give 0."""
    relation, time_column, condition = TABLES[table]
    sql = render_sql("runs/rows_per_hour.sql", relation=relation, time_column=time_column, condition=condition)
    counts = dict(conn.execute(sql, {"window_start": window.start, "window_end": window.end}).fetchall())
    return {hour: int(counts.get(hour, 0)) for hour in window.hours()}
