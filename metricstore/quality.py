"""Data-quality queries behind the asset checks: each returns the number of offending rows in a window."""

from __future__ import annotations

import duckdb

from metricstore.warehouse import scalar
from metricstore.windows import TimeWindow


def _count(conn: duckdb.DuckDBPyConnection, sql: str, window: TimeWindow) -> int:
    return int(scalar(conn, sql, {"window_start": window.start, "window_end": window.end}))


def duplicate_event_ids(conn: duckdb.DuckDBPyConnection, window: TimeWindow) -> int:
    """Event ids of the window's events stored more than once in the whole table (a copy in another hour
    counts: one event_id is one event across hours)."""
    return _count(
        conn,
        "SELECT count(*) FROM (SELECT event_id FROM raw.events WHERE event_id IN (SELECT event_id FROM raw.events "
        "WHERE occurred_at >= $window_start AND occurred_at < $window_end) GROUP BY event_id HAVING count(*) > 1)",
        window,
    )


def duplicate_metric_values(conn: duckdb.DuckDBPyConnection, window: TimeWindow) -> int:
    """(metric, entity, definition version) keys with more than one row in the window."""
    return _count(
        conn,
        "SELECT count(*) FROM (SELECT 1 FROM metrics.metric_values WHERE occurred_at >= $window_start "
        "AND occurred_at < $window_end GROUP BY workspace_id, metric_key, entity_type, entity_id, "
        "definition_version HAVING count(*) > 1)",
        window,
    )


def missing_required_values(conn: duckdb.DuckDBPyConnection, window: TimeWindow) -> int:
    """Values of required metrics that the data did not carry."""
    return _count(
        conn,
        "SELECT count(*) FROM metrics.metric_values WHERE occurred_at >= $window_start "
        "AND occurred_at < $window_end AND status = 'missing'",
        window,
    )


def rates_outside_unit_interval(conn: duckdb.DuckDBPyConnection, window: TimeWindow) -> int:
    """Aggregates of `rate` metrics outside [0, 1] for the window's hours."""
    return _count(
        conn,
        "SELECT count(*) FROM metrics.metric_aggregates a JOIN metrics.metric_definitions d "
        "ON d.metric_key = a.metric_key AND (d.builtin OR d.workspace_id = a.workspace_id) "
        "WHERE d.aggregation = 'rate' AND a.granularity = 'hourly' AND a.period_start >= $window_start "
        "AND a.period_start < $window_end AND (a.value < 0 OR a.value > 1)",
        window,
    )


def duplicate_aggregates(conn: duckdb.DuckDBPyConnection, window: TimeWindow) -> int:
    """(metric, granularity, period, source) keys with more than one aggregate row in the window's days."""
    return _count(
        conn,
        "SELECT count(*) FROM (SELECT 1 FROM metrics.metric_aggregates "
        "WHERE period_start >= date_trunc('day', $window_start) AND period_start < $window_end "
        "GROUP BY workspace_id, metric_key, granularity, period_start, source HAVING count(*) > 1)",
        window,
    )


def events_without_definitions(
    conn: duckdb.DuckDBPyConnection, window: TimeWindow, workspaces: list[str]
) -> list[tuple[str, int]]:
    """(workspace, events) of the window's events whose workspace has no definitions folder: they get the
    built-in metrics only, which may not be what their owner meant."""
    rows = conn.execute(
        "SELECT workspace_id, count(*) FROM raw.events WHERE occurred_at >= $window_start "
        "AND occurred_at < $window_end AND NOT list_contains($workspaces, workspace_id) GROUP BY ALL ORDER BY ALL",
        {"window_start": window.start, "window_end": window.end, "workspaces": workspaces},
    ).fetchall()
    return [(str(ws), int(n)) for ws, n in rows]
