"""The read side of the metric store: one function per query route of the API (CONTRACT §6), over a connection
to the published warehouse. The HTTP API and ``metricstore query`` both call these and return their models
(:mod:`metricstore.query_models`)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any, Literal, get_args

import duckdb

from metricstore.catalog_loader import LoadedDefinition, MetricCatalog
from metricstore.definitions import CalibrationGate, MetricDefinition
from metricstore.query_models import (
    AggregateLatest,
    CalibrationSummary,
    CatalogEntry,
    CatalogResponse,
    EntityLatest,
    EntityType,
    GateSummary,
    LatestResponse,
    Scope,
    Source,
    TrendPoint,
    TrendResponse,
    TrendSummary,
    TypedValue,
    ValuePoint,
    ValuesResponse,
)
from metricstore.warehouse import render_sql

MAX_SERIES_ROWS = 365
MAX_ENTITY_ROWS = 10_000
QueryErrorKind = Literal["unknown_metric", "invalid_parameter", "unknown_call"]


class QueryError(Exception):
    """A query that cannot be answered; ``kind`` says why: ``unknown_metric`` (the API answers 404),
    ``invalid_parameter`` (422) or ``unknown_call`` (404, the post-call record)."""

    def __init__(self, kind: QueryErrorKind, message: str):
        self.kind: QueryErrorKind = kind
        self.message = message
        super().__init__(message)


def typed_value(metric_type: str, num: Any, text: Any, flag: Any, items: Any) -> TypedValue:
    """A stored value as its metric type gives it (an AI answer may sit in another column: then that one)."""
    preferred = {"numerical": num, "boolean": flag, "list": items}.get(metric_type, text)
    if preferred is not None:
        return preferred
    return next((v for v in (num, text, flag, items) if v is not None), None)


def workspace_metrics(catalog: MetricCatalog, workspace_id: str) -> list[LoadedDefinition]:
    """The metrics a workspace can query: built-ins (less the post-call defaults when it turned them off) and
    its custom metrics, inactive ones included (their history stays readable)."""
    return catalog.definitions_for(workspace_id, include_inactive=True)


def find_metric(catalog: MetricCatalog, workspace_id: str, key: str) -> MetricDefinition:
    """The definition of ``key`` in a workspace; :class:`QueryError` ``unknown_metric`` when it has none."""
    for loaded in workspace_metrics(catalog, workspace_id):
        if loaded.definition.key == key:
            return loaded.definition
    raise QueryError("unknown_metric", f"no metric '{key}' in workspace {workspace_id}")


def latest(
    conn: duckdb.DuckDBPyConnection,
    catalog: MetricCatalog,
    workspace_id: str,
    *,
    source: Source | None = None,
    scope: Scope = "aggregate",
    entity_type: EntityType | None = None,
    entity_id: str | None = None,
    service_id: str | None = None,
    session_id: str | None = None,
    limit: int = 1000,
) -> LatestResponse:
    """The latest aggregate of each of the workspace's metrics (``scope="aggregate"``), the latest value of each
    metric per entity (``"entity"``, filtered by entity and envelope ids, newest ``limit`` values), or both."""
    _check_choice("source", source, Source, optional=True)
    _check_choice("scope", scope, Scope)
    _check_choice("entity_type", entity_type, EntityType, optional=True)
    _check_range("limit", limit, 1, MAX_ENTITY_ROWS)
    metrics = {d.definition.key: d.definition for d in workspace_metrics(catalog, workspace_id)}
    response = LatestResponse(workspace_id=workspace_id, scope=scope, source=source)
    if scope in ("aggregate", "all"):
        filters, params = _filters({"source = $source": ("source", source)})
        sql = render_sql("query/latest_aggregates.sql", filters=filters)
        params |= {"workspace_id": workspace_id, "metric_keys": sorted(metrics)}
        response.aggregates = [
            AggregateLatest(
                **row,
                metric_type=metrics[row["metric_key"]].metric_type,
                aggregation=metrics[row["metric_key"]].aggregation,
            )
            for row in _rows(conn, sql, params)
        ]
    if scope in ("entity", "all"):
        filters, params = _filters(
            {
                "source = $source": ("source", source),
                "entity_type = $entity_type": ("entity_type", entity_type),
                "entity_id = $entity_id": ("entity_id", entity_id),
                "service_id = $service_id": ("service_id", service_id),
                "session_id = $session_id": ("session_id", session_id),
            }
        )
        params |= {"workspace_id": workspace_id, "metric_keys": sorted(metrics), "row_limit": limit + 1}
        # One entity or session has a few values: ranking them all is cheap. Otherwise first try ranking only the
        # pairs that reach the newest rows, which is exact only when it fills the page.
        narrow = entity_id is not None or session_id is not None
        rows = [] if narrow else _rows(conn, render_sql("query/latest_entities_newest.sql", filters=filters), params)
        if len(rows) <= limit:
            rows = _rows(conn, render_sql("query/latest_entities.sql", filters=filters), params)
        response.entities_truncated = len(rows) > limit
        response.entities = [_entity(row) for row in rows[:limit]]
    return response


def values(
    conn: duckdb.DuckDBPyConnection,
    catalog: MetricCatalog,
    workspace_id: str,
    key: str,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    limit: int = 90,
    source: Source = "production",
) -> ValuesResponse:
    """The aggregate series of metric ``key`` at its own granularity, newest first: the periods that start on the
    days ``date_from`` … ``date_to`` (both inclusive, UTC, either optional), at most ``limit`` (1–365) of them."""
    metric = find_metric(catalog, workspace_id, key)
    _check_choice("source", source, Source)
    _check_range("limit", limit, 1, MAX_SERIES_ROWS)
    if date_from is not None and date_to is not None and date_from > date_to:
        raise QueryError("invalid_parameter", f"date_from {date_from} is after date_to {date_to}")
    filters, params = _filters(
        {
            "period_start >= $period_from": ("period_from", _midnight(date_from)),
            "period_start < $period_to": ("period_to", _midnight(date_to, days_after=1)),
        }
    )
    params |= {
        "workspace_id": workspace_id,
        "metric_key": key,
        "granularity": metric.period_granularity,
        "source": source,
        "row_limit": limit,
    }
    rows = _rows(conn, render_sql("query/values.sql", filters=filters), params)
    return ValuesResponse(
        workspace_id=workspace_id,
        metric_key=key,
        name=metric.name,
        unit=metric.unit,
        aggregation=metric.aggregation,
        granularity=metric.period_granularity,
        source=source,
        date_from=date_from,
        date_to=date_to,
        limit=limit,
        points=[ValuePoint(**row) for row in rows],
    )


def trend(
    conn: duckdb.DuckDBPyConnection,
    catalog: MetricCatalog,
    workspace_id: str,
    key: str,
    *,
    days: int = 30,
    source: Source = "production",
) -> TrendResponse:
    """The daily series of metric ``key`` over the last ``days`` (1–365) days ending at the newest day the
    workspace has published, one point per day (value null, sample_count 0 where there is no data)."""
    metric = find_metric(catalog, workspace_id, key)
    _check_choice("source", source, Source)
    _check_range("days", days, 1, MAX_SERIES_ROWS)
    end_day = _rows(conn, render_sql("query/trend_end_day.sql"), {"workspace_id": workspace_id})[0]["end_day"]
    start_day = end_day - timedelta(days=days - 1) if end_day is not None else None
    points: list[TrendPoint] = []
    if end_day is not None:
        params = {
            "workspace_id": workspace_id,
            "metric_key": key,
            "source": source,
            "first_day": start_day,
            "last_day": end_day,
        }
        points = [TrendPoint(**row) for row in _rows(conn, render_sql("query/trend.sql"), params)]
    return TrendResponse(
        workspace_id=workspace_id,
        metric_key=key,
        name=metric.name,
        unit=metric.unit,
        aggregation=metric.aggregation,
        source=source,
        days=days,
        start_day=start_day,
        end_day=end_day,
        points=points,
        summary=summarize(points),
    )


def summarize(points: list[TrendPoint]) -> TrendSummary:
    """First and last day with a value, the change between them and its direction."""
    valued = [p for p in points if p.value is not None]
    if not valued:
        return TrendSummary()
    first, last = valued[0], valued[-1]
    assert first.value is not None and last.value is not None  # filtered above; tells mypy
    summary = TrendSummary(first_day=first.day, first_value=first.value, last_day=last.day, last_value=last.value)
    if len(valued) < 2:
        return summary
    change = round(last.value - first.value, 9)  # aggregates are rounded to 9 decimals; so is their difference
    summary.change = change
    summary.change_pct = round(100 * change / abs(first.value), 6) if first.value else None
    summary.direction = "up" if change > 0 else "down" if change < 0 else "flat"
    return summary


def catalog_entries(conn: duckdb.DuckDBPyConnection, catalog: MetricCatalog, workspace_id: str) -> CatalogResponse:
    """Every metric of the workspace (built-in and custom, inactive included) with its definition, its version
    and whether the published store holds values of it yet."""
    loaded = workspace_metrics(catalog, workspace_id)
    keys = [d.definition.key for d in loaded]
    usage = {
        row["metric_key"]: row
        for row in _rows(
            conn, render_sql("query/catalog_usage.sql"), {"workspace_id": workspace_id, "metric_keys": keys}
        )
    }
    calibrated = {
        (row["metric_key"], row["definition_version"]): row
        for row in optional_rows(conn, render_sql("query/catalog_calibrations.sql"), {"workspace_id": workspace_id})
    }
    entries = []
    for d in loaded:
        held = usage.get(d.definition.key, {})
        calibration = calibrated.get((d.definition.key, d.definition.definition_version), {})
        entries.append(
            CatalogEntry(
                key=d.definition.key,
                name=d.definition.name,
                builtin=d.builtin,
                active=d.definition.active,
                definition_version=d.definition.definition_version,
                published_definition_version=held.get("published_definition_version"),
                has_values=bool(held.get("has_values")),
                latest_period_start=held.get("latest_period_start"),
                calibration=_calibration(calibration),
                gate=_gate(d.definition, calibration),
                definition=d.definition,
            )
        )
    return CatalogResponse(
        workspace_id=workspace_id,
        default_metrics_enabled=catalog.settings_for(workspace_id).default_metrics_enabled,
        metrics=entries,
    )


def _calibration(row: dict[str, Any]) -> CalibrationSummary | None:
    if row.get("calibration_id") is None:
        return None
    return CalibrationSummary(**{**row, "figures": json.loads(row["figures"])})


def _gate(definition: MetricDefinition, row: dict[str, Any]) -> GateSummary | None:
    """A gated version's verdict; one the job has not checked yet (saved since the last run), or checked on another
    gate (the labels file, minimum or measure changed since), is not live."""
    gate = definition.calibration
    if gate is None:
        return None
    checked = row["gate"] if (row.get("gate") or {}).get("live") is not None else None  # an unmatched row: NULLs
    held_back = stale_gate_reason(gate, checked)
    if held_back is not None:
        return GateSummary(
            live=False,
            reason=held_back,
            measure=gate.measure_for(definition.metric_type),
            minimum=gate.min_agreement,
            value=None,
        )
    assert checked is not None  # without a row, stale_gate_reason says why
    return GateSummary(
        live=checked["live"],
        reason=checked["reason"],
        measure=checked["measure"],
        minimum=checked["minimum"],
        value=checked["value"],
    )


def stale_gate_reason(gate: CalibrationGate, checked: dict[str, Any] | None) -> str | None:
    """None when the last run's verdict on a gated version (its ops.metric_gates row, ``checked``) holds: that run
    checked the gate as it now stands. Otherwise why a reader shows the version held back until the next run."""
    if checked is None:
        return "held back: not checked yet (the next run calibrates it)"
    if not gate.verdict_is_current(checked.get("gate_settings")):
        return "held back: the gate changed since the last run checked it (the next run checks it again)"
    return None


def _entity(row: dict[str, Any]) -> EntityLatest:
    value = typed_value(row["metric_type"], row["value_num"], row["value_text"], row["value_bool"], row["value_list"])
    fields = {k: v for k, v in row.items() if not k.startswith("value_")}
    return EntityLatest(**fields, value=value)


def _filters(optional: dict[str, tuple[str, Any]]) -> tuple[list[str], dict[str, Any]]:
    """The conditions (fixed SQL text from this module) whose parameter was given, and those parameters."""
    chosen = {condition: bound for condition, bound in optional.items() if bound[1] is not None}
    return list(chosen), dict(chosen.values())


def optional_rows(conn: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows of a query over relations a store published before they existed (calibrations, gates): none there."""
    try:
        return _rows(conn, sql, params)
    except duckdb.CatalogException:
        return []


def _rows(conn: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    cursor = conn.execute(sql, params)
    names = [column[0] for column in cursor.description or []]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _midnight(day: date | None, *, days_after: int = 0) -> datetime | None:
    return None if day is None else datetime(day.year, day.month, day.day) + timedelta(days=days_after)


def _check_choice(name: str, value: Any, allowed: Any, *, optional: bool = False) -> None:
    # The API and the CLI hand over plain strings: the Literal types are checked here, at run time.
    choices = get_args(allowed)
    if (value is None and optional) or value in choices:
        return
    raise QueryError("invalid_parameter", f"{name} must be one of {', '.join(choices)} (got {value!r})")


def _check_range(name: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise QueryError("invalid_parameter", f"{name} must be an integer from {low} to {high} (got {value!r})")
