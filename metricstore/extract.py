"""Static and ``sql_expr`` extraction: one set-based DuckDB pass per source into ``metrics.metric_values``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import polars as pl

from metricstore.definitions import (
    ENVELOPE_FIELDS,
    SOURCES,
    LoadedDefinition,
    MetricCatalog,
    MetricDefinition,
)
from metricstore.warehouse import prepare, register_frame, run_script, scalar
from metricstore.windows import TimeWindow, utc_now

STATIC_MODES = frozenset({"static", "sql_expr"})

_SPEC_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "workspace_id": pl.String,
    "metric_key": pl.String,
    "metric_type": pl.String,
    "source": pl.String,
    "event_types": pl.List(pl.String),
    "channel_scope": pl.String,
    "valid_range_min": pl.Float64,
    "valid_range_max": pl.Float64,
    "is_required": pl.Boolean,
    "definition_version": pl.String,
    "slot": pl.Int64,
}


@dataclass(frozen=True)
class SourcePlan:
    """What one source's pass computes: the JSON paths read from `data` and one SQL expression per slot."""

    source: str
    data_paths: list[str]
    slots: list[str]


@dataclass(frozen=True)
class ExtractResult:
    entities: int
    values_written: int
    values_by_status: dict[str, int]
    values_by_metric: dict[str, int]
    stale_hours: int


def slot_expression(definition: MetricDefinition, data_paths: list[str]) -> str:
    """The SQL giving a metric's raw JSON value for one event row; registers data paths it needs."""
    if definition.extraction_mode == "sql_expr":
        assert definition.sql_expr is not None
        return f"to_json({definition.sql_expr})"
    path = definition.extract_path
    assert path is not None
    if path[2:] in ENVELOPE_FIELDS:  # validated: either an envelope field or a path under $.data
        return f"to_json({path[2:]})"
    data_path = "$" + path[len("$.data") :]
    if data_path not in data_paths:
        data_paths.append(data_path)
    return f"data_values[{data_paths.index(data_path) + 1}]"


def static_definitions(catalog: MetricCatalog, workspace_id: str) -> list[LoadedDefinition]:
    return [d for d in catalog.definitions_for(workspace_id) if d.definition.extraction_mode in STATIC_MODES]


def plan_extraction(catalog: MetricCatalog, workspaces: list[str]) -> tuple[list[SourcePlan], pl.DataFrame]:
    """One plan per source, and the spec rows pairing (workspace, metric) with the slot it reads."""
    plans: dict[str, SourcePlan] = {s: SourcePlan(s, [], []) for s in SOURCES}
    rows: list[dict[str, Any]] = []
    for ws in workspaces:
        for loaded in static_definitions(catalog, ws):
            d = loaded.definition
            plan = plans[d.source]
            expression = slot_expression(d, plan.data_paths)
            if expression not in plan.slots:
                plan.slots.append(expression)
            rows.append(
                {
                    "workspace_id": ws,
                    "metric_key": d.key,
                    "metric_type": d.metric_type,
                    "source": d.source,
                    "event_types": d.event_types,
                    "channel_scope": d.channel_scope,
                    "valid_range_min": d.valid_range_min,
                    "valid_range_max": d.valid_range_max,
                    "is_required": d.is_required,
                    "definition_version": d.definition_version,
                    "slot": plan.slots.index(expression),
                }
            )
    specs = pl.DataFrame(rows, schema=_SPEC_SCHEMA)
    return [p for p in plans.values() if p.slots], specs


def extract_window(conn: duckdb.DuckDBPyConnection, catalog: MetricCatalog, window: TimeWindow) -> ExtractResult:
    """Replace the window's static and sql_expr values in ``metrics.metric_values`` (one transaction)."""
    prepare(conn)
    params: dict[str, Any] = {"window_start": window.start, "window_end": window.end}
    conn.execute("BEGIN TRANSACTION")
    try:
        run_script(conn, "facts/window_entities.sql", params)
        workspaces = sorted(
            set(catalog.workspaces)
            | {r[0] for r in conn.execute("SELECT DISTINCT workspace_id FROM window_entities").fetchall()}
        )
        plans, specs = plan_extraction(catalog, workspaces)
        register_frame(conn, "metric_specs", specs)
        run_script(conn, "facts/create_extracted.sql")
        for plan in plans:
            run_script(
                conn,
                "facts/extract_static.sql",
                {"source": plan.source, "data_paths": plan.data_paths or ["$"]},
                slots=plan.slots,
            )
        stale_before = _count(conn, "SELECT count(*) FROM ops.stale_periods")
        run_script(conn, "facts/insert_values.sql", {**params, "evaluated_at": utc_now()})
        stale_after = _count(conn, "SELECT count(*) FROM ops.stale_periods")
        result = ExtractResult(
            entities=_count(conn, "SELECT count(*) FROM window_entities"),
            values_written=_count(conn, "SELECT count(*) FROM typed_values"),
            values_by_status=dict(
                conn.execute("SELECT status, count(*) FROM typed_values GROUP BY 1 ORDER BY 1").fetchall()
            ),
            values_by_metric=dict(
                conn.execute("SELECT metric_key, count(*) FROM typed_values GROUP BY 1 ORDER BY 1").fetchall()
            ),
            stale_hours=stale_after - stale_before,
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return result


def _count(conn: duckdb.DuckDBPyConnection, sql: str) -> int:
    return int(scalar(conn, sql))
