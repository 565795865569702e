"""Running the hourly job: `run`, `demo` and `estimate`, and the summary printed after a run."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import click

from metricstore.catalog_loader import load_catalog
from metricstore.config import Settings
from metricstore.run_lock import LockHolder


@click.command()
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


@click.command()
@click.option("--hours", default=48, show_default=True, help="Hours of demo data to write.")
def demo(hours: int) -> None:
    """Write the demo landing data (when absent) and run the hourly job over its window."""
    from assets.partitions import PARTITIONS_START_FILE
    from metricstore.demo import read_demo_manifest, write_demo_landing
    from metricstore.windows import HOUR, partition_key_for

    landing = Settings.from_env().landing
    manifest = read_demo_manifest(landing)
    if manifest is None:
        end = datetime.now(UTC).replace(tzinfo=None, minute=0, second=0, microsecond=0)
        labels = landing.parent / "demo_labels" / "contact_reason.jsonl"
        manifest = write_demo_landing(landing, end=end, hours=hours, labels=labels)
        click.echo(
            f"wrote demo landing data: {manifest.conversations:,} conversations, "
            f"{manifest.events:,} events in {landing}/, and labels for calibration in {labels}"
        )
    else:
        click.echo(f"demo landing data already in {landing}/ (delete it to regenerate)")
    # The Dagster UI shows partitions from the demo's first hour, not thousands of empty ones before it.
    from orchestration.runner import ensure_dagster_home

    (ensure_dagster_home() / PARTITIONS_START_FILE).write_text(partition_key_for(manifest.start) + "\n")
    _run_and_report(partition_key_for(manifest.start), partition_key_for(manifest.end - HOUR))


def _run_and_report(first: str, last: str | None, budget: float | None = None, batch: bool = False) -> None:
    from orchestration.runner import hours_between, run_hourly_job

    def waiting(holder: LockHolder | None) -> None:
        click.echo(f"waiting for {holder or 'another run'} to finish: one run writes the warehouse at a time", err=True)

    try:
        summary = run_hourly_job(first, last, max_cost_usd=budget, batch=batch, on_wait=waiting)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    settings = Settings.from_env()
    span = f"{first} .. {last} ({hours_between(first, last)} hours)" if last and last != first else first
    events = summary.metadata.get("raw/events", {})
    values = summary.metadata.get("metrics/metric_values", {})
    aggregates = summary.metadata.get("metrics/metric_aggregates", {})
    ai = summary.metadata.get("metrics/ai_metric_values", {})
    unconfigured = values.get("events_without_definitions", 0)
    tokens_in, tokens_out, cost = summary.llm_usage or (0, 0, 0.0)
    status = "succeeded" if summary.success else "FAILED"
    checks_none = "none" if summary.success else "none (the checks of steps that did not finish were not evaluated)"
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
        f"failed steps: {', '.join(step for step, _ in summary.failed_steps) or 'none'}; "
        f"failed checks: {', '.join(summary.failed_checks) or checks_none}",
        *(
            [
                f"  no definitions     {unconfigured:>10,}   events of workspaces without a definitions folder, "
                "built-in metrics only: "
                + ", ".join(f"{ws} ({n:,})" for ws, n in values.get("workspaces_without_definitions", {}).items())
            ]
            if unconfigured
            else []
        ),
        f"  model usage        {tokens_in:>10,}   input tokens, {tokens_out:,} output tokens, ${cost:.4f} "
        f"in {ai.get('calls', 0):,} calls" + ("" if summary.llm_usage else " (ops.llm_calls could not be read)"),
        f"  warehouse          {settings.warehouse.resolve()}   (the job writes it)",
        f"  published          {settings.published.resolve()}   (readers open it: the API, "
        f"`metricstore query`, `duckdb`)",
    ]
    click.echo("\n".join(lines))
    if not summary.success:
        for step, cause in summary.failed_steps:
            click.echo(f"error: step {step} failed: {cause}", err=True)
        if not summary.failed_steps:
            click.echo(f"error: {summary.error}", err=True)
        click.echo(f"The run's event log has the full traceback: `make ui`, run {summary.run_id}.", err=True)
        sys.exit(1)


@click.command()
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
    from metricstore.evaluation.estimate import estimate_window
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
