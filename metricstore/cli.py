"""The ``metricstore`` command: run the hourly job, validate definitions, load the demo."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from metricstore.api.keys import ROLES
from metricstore.config import Settings
from metricstore.definitions import collect_catalog, definition_file_schema, load_catalog

if TYPE_CHECKING:
    import duckdb

    from metricstore.definitions import MetricCatalog
    from metricstore.query import EntityType, Scope, Source

SCHEMA_FILE = Path("schema") / "metric-definitions.schema.json"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """metricstore: conversation metrics in DuckDB, orchestrated by Dagster."""


@main.command()
@click.option("--partition", metavar="YYYY-MM-DD-HH:00", help="Run one hourly partition (UTC).")
@click.option("--from", "first", metavar="YYYY-MM-DD-HH:00", help="First hour of a backfill (inclusive).")
@click.option("--to", "last", metavar="YYYY-MM-DD-HH:00", help="Last hour of a backfill (inclusive).")
@click.option("--budget", type=float, help="Stop model spending at this many US dollars for the run.")
@click.option("--dry-run", is_flag=True, help="Print the model calls, tokens and dollars the run would spend.")
@click.option(
    "--batch", is_flag=True, help="Send Claude-tier evaluations as Message Batches (half price, collected later)."
)
def run(
    partition: str | None, first: str | None, last: str | None, budget: float | None, dry_run: bool, batch: bool
) -> None:
    """Run the hourly_metrics job through the Dagster instance (the runs show in `make ui`)."""
    if partition and (first or last):
        raise click.UsageError("give either --partition or --from/--to, not both")
    if not partition and not (first and last):
        raise click.UsageError("give --partition KEY, or --from KEY --to KEY")
    start, end = partition or first or "", None if partition else last
    if dry_run:
        _print_estimate(start, end or start, None)
        return
    _run_and_report(start, end, budget, batch)


@main.command()
@click.option("--hours", default=48, show_default=True, help="Hours of demo data to write.")
def demo(hours: int) -> None:
    """Write the demo landing data (when absent) and run the hourly job over its window."""
    from metricstore.demo import read_demo_manifest, write_demo_landing
    from metricstore.windows import HOUR, partition_key_for

    landing = Settings.from_env().landing
    manifest = read_demo_manifest(landing)
    if manifest is None:
        end = datetime.now(UTC).replace(tzinfo=None, minute=0, second=0, microsecond=0)
        manifest = write_demo_landing(landing, end=end, hours=hours)
        click.echo(
            f"wrote demo landing data: {manifest.conversations:,} conversations, "
            f"{manifest.events:,} events in {landing}/"
        )
    else:
        click.echo(f"demo landing data already in {landing}/ (delete it to regenerate)")
    _run_and_report(partition_key_for(manifest.start), partition_key_for(manifest.end - HOUR))


def _run_and_report(first: str, last: str | None, budget: float | None = None, batch: bool = False) -> None:
    from orchestration.runner import hours_between, run_hourly_job

    try:
        summary = run_hourly_job(first, last, max_cost_usd=budget, batch=batch)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    settings = Settings.from_env()
    span = f"{first} .. {last} ({hours_between(first, last)} hours)" if last and last != first else first
    events = summary.metadata.get("raw/events", {})
    values = summary.metadata.get("metrics/metric_values", {})
    aggregates = summary.metadata.get("metrics/metric_aggregates", {})
    ai = summary.metadata.get("metrics/ai_metric_values", {})
    tokens_in, tokens_out, cost = _llm_usage(settings.warehouse, summary.run_id)
    status = "succeeded" if summary.success else "FAILED"
    lines = [
        f"hourly_metrics {status} for {span} in {summary.seconds:.1f} s (run {summary.run_id[:8]}, see `make ui`)",
        f"  events ingested    {events.get('events_ingested', 0):>10,}   "
        f"duplicates dropped {events.get('duplicates_dropped', 0):,}",
        f"  metrics computed   {values.get('metrics_computed', 0):>10,}   "
        f"values written {values.get('values_written', 0):,} (out of range {values.get('values_out_of_range', 0):,})",
        f"  AI evaluations     {ai.get('evaluated', 0):>10,}   cache hits {ai.get('cache_hits', 0):,}, "
        f"failed {ai.get('failures', 0):,}, skipped without API key {ai.get('skipped_no_key', 0):,}, "
        f"over budget {ai.get('skipped_budget', 0):,}, in batches {ai.get('pairs_in_batches', 0):,}",
        f"  aggregate rows     {aggregates.get('aggregate_rows_written', 0):>10,}",
        f"  failures           {events.get('quarantined_lines', 0):>10,}   quarantined lines (ops.quarantine); "
        f"failed checks: {', '.join(summary.failed_checks) or 'none'}",
        f"  model usage        {tokens_in:>10,}   input tokens, {tokens_out:,} output tokens, ${cost:.4f} "
        f"in {ai.get('calls', 0):,} calls",
        f"  warehouse          {settings.warehouse.resolve()}   (the job writes it)",
        f"  published          {settings.published.resolve()}   (readers open it: the API, "
        f"`metricstore query`, `duckdb`)",
    ]
    click.echo("\n".join(lines))
    if not summary.success:
        click.echo(f"error: {summary.error}", err=True)
        sys.exit(1)


def _llm_usage(warehouse: Path, run_id: str) -> tuple[int, int, float]:
    from metricstore.warehouse import connect

    with connect(warehouse, read_only=True) as conn:
        row = conn.execute(
            "SELECT coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0), coalesce(sum(cost_usd), 0) "
            "FROM ops.llm_calls WHERE run_id = ?",
            [run_id],
        ).fetchall()[0]
    return int(row[0]), int(row[1]), float(row[2])


@main.command()
@click.argument("key")
@click.option("--subject", "conversation_id", required=True, help="The conversation id (data.id).")
@click.option("--workspace", "workspace_id", help="The workspace (default: the one holding the conversation).")
@click.option("--json", "as_json", is_flag=True, help="Print the evaluation as JSON.")
def evaluate(key: str, conversation_id: str, workspace_id: str | None, as_json: bool) -> None:
    """Evaluate metric KEY on one conversation now and print the typed value; nothing is stored."""
    from dataclasses import asdict

    from metricstore.evaluation.on_demand import OnDemandError, evaluate_on_demand
    from metricstore.published import NotPublishedError, open_published

    settings = Settings.from_env()
    catalog = load_catalog(settings.metric_defs)
    try:
        # the published copy, like the API: never the warehouse the job may be writing
        with open_published(settings) as conn:
            evaluation = evaluate_on_demand(conn, catalog, key, conversation_id, workspace_id)
    except NotPublishedError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except OnDemandError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2 if exc.kind in ("unknown_metric", "unknown_conversation", "unsupported_mode") else 1)
    if as_json:
        click.echo(json.dumps(asdict(evaluation), indent=2, default=str))
        return
    value = next(
        (
            v
            for v in (evaluation.value_num, evaluation.value_text, evaluation.value_bool, evaluation.value_list)
            if v is not None
        ),
        None,
    )
    click.echo(f"{key} = {json.dumps(value)}   ({evaluation.status}, {evaluation.model})")
    if evaluation.rationale:
        click.echo(f"rationale: {evaluation.rationale}")
    for quote in evaluation.evidence:
        flag = "" if quote not in evaluation.ungrounded_evidence else "   [not found in the transcript]"
        click.echo(f'evidence: "{quote}"{flag}')
    if evaluation.cost_usd:
        click.echo(f"cost: ${evaluation.cost_usd:.5f} ({evaluation.input_tokens} in, {evaluation.output_tokens} out)")


@main.command()
@click.argument("key", required=False)
@click.option("--partition", metavar="YYYY-MM-DD-HH:00", help="The hour to estimate (default: the last full hour).")
@click.option("--from", "first", metavar="YYYY-MM-DD-HH:00", help="First hour of a backfill to estimate.")
@click.option("--to", "last", metavar="YYYY-MM-DD-HH:00", help="Last hour of a backfill to estimate.")
def estimate(key: str | None, partition: str | None, first: str | None, last: str | None) -> None:
    """Print the calls, tokens and dollars the next run (or a backfill) would spend on KEY (default: all)."""
    from orchestration.runner import last_partition_key

    start = partition or first or last_partition_key()
    _print_estimate(start, last or start, key)


def _print_estimate(first: str, last: str, key: str | None) -> None:
    from metricstore.evaluation.run import estimate_window
    from metricstore.warehouse import connect
    from metricstore.windows import HOUR, TimeWindow
    from orchestration.runner import parse_partition

    settings = Settings.from_env()
    catalog = load_catalog(settings.metric_defs)
    window = TimeWindow(parse_partition(first), parse_partition(last) + HOUR)
    if not settings.warehouse.exists():
        raise click.ClickException(f"no warehouse at {settings.warehouse}: run the job first")
    with connect(settings.warehouse, read_only=True) as conn:
        estimates, calls = estimate_window(conn, catalog, window, metric_keys={key} if key else None)
    if key and not estimates:
        click.echo(f"{key}: nothing pending in {window}")
        return
    click.echo(f"AI evaluations pending for {window} (events not yet ingested are not counted):")
    header = f"  {'metric':<32} {'tier':<9} {'evaluations':>11} {'cached':>7} {'input tok':>10} {'output tok':>10}"
    click.echo(f"{header} {'USD':>9}")
    for e in estimates:
        click.echo(
            f"  {e.metric_key:<32} {e.model_tier:<9} {e.evaluations:>11,} {e.cached:>7,} {e.input_tokens:>10,} "
            f"{e.output_tokens:>10,} {e.cost_usd:>9.4f}"
        )
    total = sum(e.cost_usd for e in estimates)
    click.echo(f"  {calls:,} model calls, about ${total:.4f} (tokens estimated as characters / 4)")


@main.group()
def defs() -> None:
    """Metric definitions: validate them, write their JSON Schema and catalog page."""


@defs.command("validate")
@click.argument("path", required=False, type=click.Path(path_type=Path))
def defs_validate(path: Path | None) -> None:
    """Validate every definition under PATH (default $METRICSTORE_METRIC_DEFS); exit 1 on any error."""
    root = path or Settings.from_env().metric_defs
    catalog, errors = collect_catalog(root)
    for error in errors:
        click.echo(str(error))
    if errors:
        click.echo(f"{len(errors)} error(s) in {root}", err=True)
        sys.exit(1)
    custom = sum(len(v) for v in catalog.custom.values())
    click.echo(f"{root}: {len(catalog.builtins)} built-in and {custom} custom metric(s) are valid")


@defs.command("schema")
@click.option("--check", is_flag=True, help="Exit 1 if the checked-in schema is out of date.")
def defs_schema(check: bool) -> None:
    """Write the JSON Schema of definition files to <defs>/schema/ (editors autocomplete YAML with it)."""
    target = Settings.from_env().metric_defs / SCHEMA_FILE
    text = schema_text()
    if check:
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            click.echo(f"{target} is out of date: run `metricstore defs schema`", err=True)
            sys.exit(1)
        click.echo(f"{target} is current")
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    click.echo(f"wrote {target}")


def schema_text() -> str:
    return json.dumps(definition_file_schema(), indent=2, sort_keys=True) + "\n"


@defs.command("catalog-doc")
@click.option("--output", type=click.Path(path_type=Path), default=Path("docs/catalog.md"), show_default=True)
def defs_catalog_doc(output: Path) -> None:
    """Write the Markdown catalog of built-in metrics."""
    from metricstore.catalog import catalog_markdown

    catalog = load_catalog(Settings.from_env().metric_defs)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(catalog_markdown(catalog), encoding="utf-8")
    click.echo(f"wrote {output} ({len(catalog.builtins)} built-in metrics)")


QUERY_SOURCES = click.Choice(["production", "simulation"])
_T = TypeVar("_T")


@main.group()
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

    response = _published_query(
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
        _echo_table(
            ["metric", "source", "granularity", "period start", "value", "samples", "unit"],
            [
                [a.metric_key, a.source, a.granularity, a.period_start, a.value, a.sample_count, a.unit]
                for a in response.aggregates
            ],
            empty=f"no aggregates published for {workspace_id}",
        )
    if scope in ("entity", "all"):
        _echo_table(
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

    response = _published_query(
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
    _echo_table(
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

    response = _published_query(lambda conn, catalog: trend(conn, catalog, workspace_id, key, days=days, source=source))
    if as_json:
        click.echo(response.model_dump_json(indent=2))
        return
    if response.end_day is None:
        click.echo(f"nothing published for {workspace_id} yet")
        return
    click.echo(
        f"{key} ({response.name}), daily {response.aggregation}, {source}: {response.start_day} .. {response.end_day}"
    )
    _echo_table(["day", "value", "samples"], [[p.day, p.value, p.sample_count] for p in response.points])
    s = response.summary
    if s.direction is not None:
        pct = f" ({s.change_pct:+.1f} %)" if s.change_pct is not None else ""
        click.echo(
            f"{s.direction}: {_cell(s.first_value)} on {s.first_day} -> {_cell(s.last_value)} on {s.last_day}{pct}"
        )


@query.command("catalog")
@_workspace_option
@_json_option
def query_catalog(workspace_id: str, as_json: bool) -> None:
    """Every metric of the workspace with its configuration and whether it has values yet."""
    from metricstore.query import catalog_entries

    response = _published_query(lambda conn, catalog: catalog_entries(conn, catalog, workspace_id))
    if as_json:
        click.echo(response.model_dump_json(indent=2))
        return
    _echo_table(
        ["metric", "kind", "type", "mode", "aggregation", "granularity", "version", "values"],
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
            ]
            for m in response.metrics
        ],
    )
    if not response.default_metrics_enabled:
        click.echo(f"(the post-call default metrics are turned off for {workspace_id})")


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
    record = _published_query(
        lambda conn, catalog: post_call_record(
            conn, catalog, workspace_id, call_id=call_id, agent_id=agent_id, contact_id=contact_id
        )
    )
    if as_json:
        click.echo(record.model_dump_json(indent=2))
        return
    fields = record.call_data.model_dump(mode="json", exclude={"custom_metrics"})
    for name, value in fields.items():
        shown = f"{len(value)} turns" if name == "transcription" and isinstance(value, list) else _cell(value)
        click.echo(f"{name:<18} {shown}")
    _echo_table(
        ["custom metric", "type", "required", "value"],
        [
            [key, m.metric_schema.type, "yes" if m.metric_schema.is_required else "no", m.value]
            for key, m in record.call_data.custom_metrics.items()
        ],
        empty="(no custom metrics)",
    )


def _published_query(run: Callable[[duckdb.DuckDBPyConnection, MetricCatalog], _T]) -> _T:
    """Run a query on the published warehouse; every failure is one line on stderr (exit 2: the request)."""
    import duckdb

    from metricstore.definitions import DefinitionsInvalid
    from metricstore.published import NotPublishedError, open_published
    from metricstore.query import QueryError

    settings = Settings.from_env()
    try:
        catalog = load_catalog(settings.metric_defs)
    except DefinitionsInvalid as exc:
        click.echo(f"error: {len(exc.errors)} invalid metric definition(s): run `metricstore defs validate`", err=True)
        sys.exit(1)
    try:
        with open_published(settings) as conn:
            return run(conn, catalog)
    except (NotPublishedError, QueryError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except duckdb.Error as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        click.echo(f"error: could not read the published warehouse {settings.published}: {first_line}", err=True)
        sys.exit(1)


def _cell(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    text = str(value)
    return text if len(text) <= 60 else text[:59] + "…"


def _echo_table(headers: list[str], rows: list[list[object]], *, empty: str = "(no rows)") -> None:
    if not rows:
        click.echo(empty)
        return
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(row[i]) for row in cells)) for i, h in enumerate(headers)]
    click.echo("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    click.echo("  ".join("-" * w for w in widths))
    for row in cells:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
def serve(host: str, port: int) -> None:
    """Serve the HTTP API (OpenAPI at /openapi.json, interactive docs at /docs)."""
    import uvicorn

    from metricstore.api.app import create_app

    uvicorn.run(create_app(Settings.from_env()), host=host, port=port)


@main.group()
def keys() -> None:
    """API keys of the HTTP API, each bound to one workspace and a role (only a hash is stored)."""


@keys.command("create")
@click.option("--workspace", "workspace_id", required=True, help="The workspace the key may read (and write).")
@click.option("--role", type=click.Choice(ROLES), required=True, help="viewer reads; admin and owner also write.")
@click.option("--json", "as_json", is_flag=True, help='Print {"key", "id", "workspace", "role"} as JSON.')
def keys_create(workspace_id: str, role: str, as_json: bool) -> None:
    """Create a key and print it: this is the only time it is shown."""
    from metricstore.api.keys import KeyStore

    try:
        new = KeyStore(Settings.from_env().api_keys).create(workspace_id, role)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    info = new.info
    if as_json:
        click.echo(json.dumps({"key": new.key, "id": info.key_id, "workspace": info.workspace_id, "role": info.role}))
        return
    click.echo(new.key)
    click.echo(f"key {info.key_id} ({info.role} of {info.workspace_id}): store it now, it is not shown again", err=True)


@keys.command("list")
@click.option("--workspace", "workspace_id", help="Only the keys of this workspace.")
@click.option("--json", "as_json", is_flag=True, help="Print the keys as JSON.")
def keys_list(workspace_id: str | None, as_json: bool) -> None:
    """List keys by their public id (never the keys themselves)."""
    from dataclasses import asdict

    from metricstore.api.keys import KeyStore

    found = KeyStore(Settings.from_env().api_keys).list_keys(workspace_id)
    if as_json:
        click.echo(json.dumps([asdict(k) for k in found], indent=2))
        return
    for k in found:
        state = f"revoked {k.revoked_at}" if k.revoked_at else f"last used {k.last_used_at or 'never'}"
        click.echo(f"{k.key_id}  {k.workspace_id}  {k.role:<6}  created {k.created_at}  {state}")
    if not found:
        click.echo("(no keys)")


@keys.command("revoke")
@click.argument("key_id")
def keys_revoke(key_id: str) -> None:
    """Revoke the key KEY_ID (as `keys list` shows it); requests with it get 401 from now on."""
    from metricstore.api.keys import KeyStore

    revoked = KeyStore(Settings.from_env().api_keys).revoke(key_id)
    if revoked is None:
        click.echo(f"error: no key {key_id}", err=True)
        sys.exit(1)
    click.echo(f"revoked {key_id} ({revoked.role} of {revoked.workspace_id})")
