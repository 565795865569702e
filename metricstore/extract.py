"""Static and ``sql_expr`` extraction: one set-based DuckDB pass per source into ``metrics.metric_values``.

One metric whose SQL fails on the window's data (a built-in ``sql_expr`` that cannot cast a value, say) fails
alone: the pass is rolled back, each of the source's expressions is tried on its own to find the ones that
fail, and the window is extracted again without them; they are reported with DuckDB's error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import duckdb
import polars as pl

from metricstore.catalog_loader import LoadedDefinition, MetricCatalog
from metricstore.definitions import SOURCES, MetricDefinition
from metricstore.warehouse import prepare, register_frame, run_script, scalar, transaction, unordered
from metricstore.windows import TimeWindow, utc_now

STATIC_MODES = frozenset({"static", "sql_expr"})
# `data ->> 'key'` / `data -> 'key'`: the one way a sql_expr may read `data` and still get the narrowed object.
_TOP_LEVEL_KEY = re.compile(r"\bdata\s*->>?\s*'([A-Za-z_][A-Za-z0-9_]*)'")

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


@dataclass
class SourcePlan:
    """What one source's pass computes: the JSON paths read from `data` (one parse for all of them), one SQL
    expression per slot, and the top-level `data` keys that sql_expr metrics read."""

    source: str
    data_paths: list[str]
    slots: list[str]
    expression_keys: set[str] = field(default_factory=set)
    expressions_need_full_data: bool = False

    def narrowed_data(self) -> str:
        """What `data` means to this source's sql_expr metrics: when they only read top-level keys
        (`data ->> 'status'`), a small object of those keys built from the one parse, so that no expression
        parses the whole document (with its transcript) again; otherwise the document itself."""
        if self.expressions_need_full_data or not self.expression_keys:
            return "data"
        pairs = [f"'{k}', data_values[{self.data_paths.index('$.' + k) + 1}]" for k in sorted(self.expression_keys)]
        return f"json_object({', '.join(pairs)})"


@dataclass(frozen=True)
class MetricFailure:
    """A metric whose SQL failed on the window's data: it has no values for the window."""

    workspace_id: str
    metric_key: str
    reason: str


@dataclass(frozen=True)
class ExtractResult:
    entities: int
    values_written: int
    values_by_status: dict[str, int]
    values_by_metric: dict[str, int]
    stale_hours: int
    failed_metrics: list[MetricFailure] = field(default_factory=list)


def slot_expression(definition: MetricDefinition, plan: SourcePlan) -> str:
    """The SQL giving a metric's raw JSON value for one event row; registers the data paths it needs."""
    data_paths = plan.data_paths
    if definition.computed_mode == "sql_expr":
        assert definition.sql_expr is not None
        expression = definition.sql_expr
        keys = _TOP_LEVEL_KEY.findall(expression)
        for key in keys:
            if f"$.{key}" not in data_paths:
                data_paths.append(f"$.{key}")
        if len(re.findall(r"\bdata\b", expression)) != len(keys):
            plan.expressions_need_full_data = True  # `data` used some other way: give it the whole document
            plan.expression_keys.update(keys)
            return f"to_json({expression})"

        # only top-level keys: read each from the one parse, so no expression parses a document (with the
        # transcript a narrowed object would still carry) again
        def read(match: re.Match[str]) -> str:
            value = f"data_values[{data_paths.index('$.' + match.group(1)) + 1}]"
            return f"({value} ->> '$')" if "->>" in match.group(0) else value

        return f"to_json({_TOP_LEVEL_KEY.sub(read, expression)})"
    path = definition.extract_path  # a JSON path into `data`, read from the one parse
    assert path is not None
    if path not in data_paths:
        data_paths.append(path)
    return f"data_values[{data_paths.index(path) + 1}]"


def static_definitions(catalog: MetricCatalog, workspace_id: str) -> list[LoadedDefinition]:
    """The workspace's metrics this module computes: static and sql_expr ones (never a ratio, whatever its mode)."""
    return [d for d in catalog.definitions_for(workspace_id) if d.definition.computed_mode in STATIC_MODES]


# A slot's expression that failed on this window's data, by (source, expression), with DuckDB's error.
FailedSlots = dict[tuple[str, str], str]


def plan_extraction(
    catalog: MetricCatalog, workspaces: list[str], failed: FailedSlots | None = None
) -> tuple[list[SourcePlan], pl.DataFrame, list[MetricFailure]]:
    """One plan per source, the spec rows pairing (workspace, metric) with the slot it reads, and the metrics
    left out because their expression is one of the ``failed``."""
    plans: dict[str, SourcePlan] = {s: SourcePlan(s, [], []) for s in SOURCES}
    rows: list[dict[str, Any]] = []
    left_out: list[MetricFailure] = []
    for ws in workspaces:
        for loaded in static_definitions(catalog, ws):
            d = loaded.definition
            plan = plans[d.source]
            # computed even when it failed, so the paths it registers (and so every other slot's text) are the same
            expression = slot_expression(d, plan)
            if failed and (d.source, expression) in failed:
                left_out.append(MetricFailure(ws, d.key, failed[(d.source, expression)]))
                continue
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
    return [p for p in plans.values() if p.slots], specs, left_out


def extract_window(conn: duckdb.DuckDBPyConnection, catalog: MetricCatalog, window: TimeWindow) -> ExtractResult:
    """Replace the window's static and sql_expr values in ``metrics.metric_values`` (one transaction). A metric
    whose SQL fails on the window's data is left out and listed in ``failed_metrics``; the others are written."""
    prepare(conn)
    params: dict[str, Any] = {"window_start": window.start, "window_end": window.end}
    failed: FailedSlots = {}
    with unordered(conn):
        while True:
            try:
                return _extract(conn, catalog, window, params, failed)
            except duckdb.Error:
                found = _failing_slots(conn, catalog, params, failed)
                if not found:  # not one metric's SQL: the run's own failure
                    raise
                failed |= found


def _plan_window(
    conn: duckdb.DuckDBPyConnection, catalog: MetricCatalog, failed: FailedSlots
) -> tuple[list[SourcePlan], pl.DataFrame, list[MetricFailure]]:
    """The plans for the workspaces of the catalog and of ``window_entities``."""
    workspaces = sorted(
        set(catalog.workspaces)
        | {r[0] for r in conn.execute("SELECT DISTINCT workspace_id FROM window_entities").fetchall()}
    )
    return plan_extraction(catalog, workspaces, failed)


def _extract_source(conn: duckdb.DuckDBPyConnection, plan: SourcePlan, slots: list[str], evaluated_at: Any) -> None:
    run_script(
        conn,
        "facts/extract_static.sql",
        {"source": plan.source, "data_paths": plan.data_paths or ["$"], "evaluated_at": evaluated_at},
        slots=slots,
        data=plan.narrowed_data(),
    )


def _failing_slots(
    conn: duckdb.DuckDBPyConnection, catalog: MetricCatalog, params: dict[str, Any], failed: FailedSlots
) -> FailedSlots:
    """Each slot tried alone on the window (each in a transaction rolled back): those that fail, with the error."""
    found: FailedSlots = {}
    run_script(conn, "facts/window_entities.sql", params)
    try:
        plans, specs, _ = _plan_window(conn, catalog, failed)
        for plan in plans:
            for index, slot in enumerate(plan.slots):
                alone = specs.filter((pl.col("source") == plan.source) & (pl.col("slot") == index))
                register_frame(conn, "metric_specs", alone.with_columns(slot=pl.lit(0, pl.Int64)))
                conn.execute("BEGIN TRANSACTION")
                try:
                    _extract_source(conn, plan, [slot], utc_now())
                except duckdb.Error as exc:
                    found[(plan.source, slot)] = str(exc).splitlines()[0]
                finally:
                    conn.execute("ROLLBACK")
    finally:
        conn.execute("DROP TABLE IF EXISTS window_entities")
    return found


def _extract(
    conn: duckdb.DuckDBPyConnection,
    catalog: MetricCatalog,
    window: TimeWindow,
    params: dict[str, Any],
    failed: FailedSlots,
) -> ExtractResult:
    with transaction(conn):
        run_script(conn, "facts/window_entities.sql", params)
        plans, specs, left_out = _plan_window(conn, catalog, failed)
        register_frame(conn, "metric_specs", specs)
        stale_before = _count(conn, "SELECT count(*) FROM ops.stale_periods")
        run_script(conn, "facts/replace_window.sql", params)
        stale_after = _count(conn, "SELECT count(*) FROM ops.stale_periods")
        evaluated_at = utc_now()
        for plan in plans:
            _extract_source(conn, plan, plan.slots, evaluated_at)
        written = {"window_start": window.start, "window_end": window.end, "evaluated_at": evaluated_at}
        by_status_and_metric = conn.execute(
            "SELECT status, metric_key, count(*) FROM metrics.metric_values WHERE occurred_at >= $window_start "
            "AND occurred_at < $window_end AND evaluated_at = $evaluated_at GROUP BY ALL ORDER BY ALL",
            written,
        ).fetchall()
        by_status: dict[str, int] = {}
        by_metric: dict[str, int] = {}
        for status, key, n in by_status_and_metric:  # a few hundred rows at most: (status, metric) pairs
            by_status[status] = by_status.get(status, 0) + n
            by_metric[key] = by_metric.get(key, 0) + n
        result = ExtractResult(
            entities=_count(conn, "SELECT count(*) FROM window_entities"),
            values_written=sum(by_status.values()),
            values_by_status=by_status,
            values_by_metric=by_metric,
            stale_hours=stale_after - stale_before,
            failed_metrics=left_out,
        )
        conn.execute("DROP TABLE window_entities")
    return result


def _count(conn: duckdb.DuckDBPyConnection, sql: str) -> int:
    return int(scalar(conn, sql))
