"""`metricstore evaluate`: one metric on one conversation, now, from the published store; nothing is stored."""

from __future__ import annotations

import json
import sys

import click

from metricstore.catalog_loader import load_catalog
from metricstore.config import Settings


@click.command()
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
        sys.exit(2 if exc.kind in ("unknown_metric", "unknown_conversation", "unsupported_mode", "prompt_error") else 1)
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
