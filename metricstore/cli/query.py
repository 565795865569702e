"""`metricstore query`: read the published metric store as the API does, printed as tables or as its JSON."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

import click

from metricstore.cli.published_query import published_query
from metricstore.cli.tables import cell, echo_table

if TYPE_CHECKING:
    from metricstore.query_models import CalibrationSummary, EntityType, Scope, Source

QUERY_SOURCES = click.Choice(["production", "simulation"])


@click.group()
def query() -> None:
    """Read the published metric store, as the API does: tables, or --json for the API's own document."""


def _workspace_option(command: Callable[..., None]) -> Callable[..., None]:
    return click.option("--workspace", "workspace_id", required=True, help="The workspace to read.")(command)


def _json_option(command: Callable[..., None]) -> Callable[..., None]:
    return click.option("--json", "as_json", is_flag=True, help="Print the JSON document the API returns.")(command)


@query.command("latest")
@_workspace_option
@click.option("--source", type=QUERY_SOURCES, help="Production or simulation values (default: both).")
@click.option(
    "--scope",
    type=click.Choice(["aggregate", "entity", "all"]),
    default="aggregate",
    show_default=True,
    help="Latest aggregate per metric, latest value per entity, or both.",
)
@click.option("--entity-type", type=click.Choice(["conversation", "event"]), help="Entity values of this type only.")
@click.option("--entity-id", help="Entity values of this conversation or event id only.")
@click.option("--service-id", help="Entity values of this service only.")
@click.option("--session-id", help="Entity values of this session only.")
@click.option("--limit", default=1000, show_default=True, help="The most entity values printed (1–10000).")
@_json_option
def query_latest(
    workspace_id: str,
    source: Source | None,
    scope: Scope,
    entity_type: EntityType | None,
    entity_id: str | None,
    service_id: str | None,
    session_id: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """The latest aggregate of each metric of the workspace (and/or the latest value per entity)."""
    from metricstore.query import latest

    response = published_query(
        lambda conn, catalog: latest(
            conn,
            catalog,
            workspace_id,
            source=source,
            scope=scope,
            entity_type=entity_type,
            entity_id=entity_id,
            service_id=service_id,
            session_id=session_id,
            limit=limit,
        )
    )
    if as_json:
        click.echo(response.model_dump_json(indent=2))
        return
    if scope in ("aggregate", "all"):
        echo_table(
            ["metric", "source", "granularity", "period start", "value", "samples", "unit"],
            [
                [a.metric_key, a.source, a.granularity, a.period_start, a.value, a.sample_count, a.unit]
                for a in response.aggregates
            ],
            empty=f"no aggregates published for {workspace_id}",
        )
    if scope in ("entity", "all"):
        echo_table(
            ["entity", "metric", "value", "status", "version", "occurred at", "source"],
            [
                [
                    f"{e.entity_type}:{e.entity_id}",
                    e.metric_key,
                    e.value,
                    e.status,
                    e.definition_version,
                    e.occurred_at,
                    e.source,
                ]
                for e in response.entities
            ],
            empty=f"no entity values published for {workspace_id} that match",
        )
        if response.entities_truncated:
            click.echo(f"(the newest {limit} values; narrow with --entity-id, --session-id or raise --limit)")


@query.command("values")
@click.argument("key")
@_workspace_option
@click.option("--date-from", type=click.DateTime(["%Y-%m-%d"]), help="First day (UTC, inclusive).")
@click.option("--date-to", type=click.DateTime(["%Y-%m-%d"]), help="Last day (UTC, inclusive).")
@click.option("--limit", default=90, show_default=True, help="The most periods printed (1–365).")
@click.option("--source", type=QUERY_SOURCES, default="production", show_default=True)
@_json_option
def query_values(
    key: str,
    workspace_id: str,
    date_from: datetime | None,
    date_to: datetime | None,
    limit: int,
    source: Source,
    as_json: bool,
) -> None:
    """The aggregates of metric KEY at its own granularity (hourly or daily), newest first."""
    from metricstore.query import values

    response = published_query(
        lambda conn, catalog: values(
            conn,
            catalog,
            workspace_id,
            key,
            date_from=date_from.date() if date_from else None,
            date_to=date_to.date() if date_to else None,
            limit=limit,
            source=source,
        )
    )
    if as_json:
        click.echo(response.model_dump_json(indent=2))
        return
    unit = f", {response.unit}" if response.unit else ""
    click.echo(f"{key} ({response.name}{unit}): {response.aggregation}, {response.granularity}, {source}")
    echo_table(
        ["period start", "value", "samples"],
        [[p.period_start, p.value, p.sample_count] for p in response.points],
        empty="no aggregates in that range",
    )


@query.command("trend")
@click.argument("key")
@_workspace_option
@click.option("--days", default=30, show_default=True, help="Days up to the newest published day (1–365).")
@click.option("--source", type=QUERY_SOURCES, default="production", show_default=True)
@_json_option
def query_trend(key: str, workspace_id: str, days: int, source: Source, as_json: bool) -> None:
    """The daily series of metric KEY, one row per day (days without data show –)."""
    from metricstore.query import trend

    response = published_query(lambda conn, catalog: trend(conn, catalog, workspace_id, key, days=days, source=source))
    if as_json:
        click.echo(response.model_dump_json(indent=2))
        return
    if response.end_day is None:
        click.echo(f"nothing published for {workspace_id} yet")
        return
    click.echo(
        f"{key} ({response.name}), daily {response.aggregation}, {source}: {response.start_day} .. {response.end_day}"
    )
    echo_table(["day", "value", "samples"], [[p.day, p.value, p.sample_count] for p in response.points])
    s = response.summary
    if s.direction is not None:
        pct = f" ({s.change_pct:+.1f} %)" if s.change_pct is not None else ""
        click.echo(
            f"{s.direction}: {cell(s.first_value)} on {s.first_day} -> {cell(s.last_value)} on {s.last_day}{pct}"
        )


@query.command("catalog")
@_workspace_option
@_json_option
def query_catalog(workspace_id: str, as_json: bool) -> None:
    """Every metric of the workspace with its configuration and whether it has values yet."""
    from metricstore.query import catalog_entries

    response = published_query(lambda conn, catalog: catalog_entries(conn, catalog, workspace_id))
    if as_json:
        click.echo(response.model_dump_json(indent=2))
        return
    echo_table(
        ["metric", "kind", "type", "mode", "aggregation", "granularity", "version", "values", "calibration", "gate"],
        [
            [
                m.key + ("" if m.active else " (inactive)"),
                "built-in" if m.builtin else "custom",
                m.definition.metric_type,
                m.definition.extraction_mode or "ratio",
                m.definition.aggregation,
                m.definition.period_granularity,
                m.definition_version,
                "yes" if m.has_values else "no",
                _calibrated(m.calibration, m.gate.measure if m.gate else None),
                "" if m.gate is None else ("live" if m.gate.live else "held back"),
            ]
            for m in response.metrics
        ],
    )
    if not response.default_metrics_enabled:
        click.echo(f"(the post-call default metrics are turned off for {workspace_id})")


def _calibrated(calibration: CalibrationSummary | None, measure: str | None) -> str:
    """A calibration in a cell: the gate's measure (or the type's first figure) with its n."""
    if calibration is None:
        return ""
    name = measure or next(iter(calibration.figures))
    figure = calibration.figures[name]
    value = "–" if figure.value is None else f"{figure.value:.2f}"
    return f"{name} {value} (n={figure.n})"


@query.command("call")
@_workspace_option
@click.option("--call-id", help="The conversation id (data.id).")
@click.option("--agent-id", help="The most recent conversation of this agent.")
@click.option("--contact-id", help="The most recent conversation of this contact.")
@_json_option
def query_call(
    workspace_id: str, call_id: str | None, agent_id: str | None, contact_id: str | None, as_json: bool
) -> None:
    """The post-call record of one conversation (what GET /api/v1/call/get-metric and the webhook carry)."""
    from metricstore.post_call import post_call_record

    if not (call_id or agent_id or contact_id):
        raise click.UsageError("give --call-id, --agent-id or --contact-id")
    record = published_query(
        lambda conn, catalog: post_call_record(
            conn, catalog, workspace_id, call_id=call_id, agent_id=agent_id, contact_id=contact_id
        )
    )
    if as_json:
        click.echo(record.model_dump_json(indent=2))
        return
    fields = record.call_data.model_dump(mode="json", exclude={"custom_metrics"})
    for name, value in fields.items():
        shown = f"{len(value)} turns" if name == "transcription" and isinstance(value, list) else cell(value)
        click.echo(f"{name:<18} {shown}")
    echo_table(
        ["custom metric", "type", "required", "value"],
        [
            [key, m.metric_schema.type, "yes" if m.metric_schema.is_required else "no", m.value]
            for key, m in record.call_data.custom_metrics.items()
        ],
        empty="(no custom metrics)",
    )
