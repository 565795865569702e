"""`metricstore calibrate`: how well an AI metric's current definition version agrees with labelled conversations."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from metricstore.cli.tables import echo_table
from metricstore.cli.writing import load_valid_catalog, writing
from metricstore.config import Settings

if TYPE_CHECKING:
    import duckdb


@click.command()
@click.argument("key")
@click.option(
    "--labels",
    "labels_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="JSONL or CSV of conversation_id, expected[, rater] (default: the file the metric's calibration gate names).",
)
@click.option(
    "--workspace", "workspace_id", help="The workspace (default: the one holding the labelled conversations)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the calibration as JSON.")
def calibrate(key: str, labels_file: Path | None, workspace_id: str | None, as_json: bool) -> None:
    """Evaluate metric KEY's current version on labelled conversations and report agreement by type, each figure
    with its bootstrap 95 % interval and n; kept in ops.calibrations and shown in the catalog. Answers come from
    the cache first: calibrating an unchanged version again costs nothing."""
    from metricstore.calibration.gate import gate_state, labels_path
    from metricstore.calibration.labels import LabelsFileError, read_labels
    from metricstore.calibration.run import CalibrationError
    from metricstore.calibration.run import calibrate as run_calibration
    from metricstore.evaluation.on_demand import OnDemandError, find_metric

    settings = Settings.from_env()
    catalog = load_valid_catalog()
    with writing("calibrate") as (conn, run_id):
        workspace_id = workspace_id or _workspace_of(conn, labels_file)
        try:
            metric = find_metric(catalog, workspace_id, key)
        except OnDemandError as exc:
            _fail(str(exc))
        loaded = next(
            d for d in catalog.definitions_for(workspace_id, include_inactive=True) if d.definition.key == key
        )
        if labels_file is None:
            if metric.calibration is None:
                _fail(f"'{key}' names no labelled set (calibration.labels): give --labels FILE")
            labels_file = labels_path(settings.metric_defs, loaded, workspace_id)
        if not labels_file.is_file():
            _fail(f"no labels file {labels_file}")
        try:
            labels = read_labels(labels_file, metric)
            result = run_calibration(conn, workspace_id, metric, labels, run_id=run_id)
        except (CalibrationError, LabelsFileError) as exc:
            _fail(str(exc))
        gate = (
            gate_state(conn, settings.metric_defs, workspace_id, loaded, calibrate_missing=False)
            if metric.calibration is not None
            else None
        )
    if as_json:
        body = result.as_dict()
        if gate is not None:
            body["gate"] = {"live": gate.live, "reason": gate.reason, "measure": gate.measure, "minimum": gate.minimum}
        click.echo(json.dumps(body, indent=2, default=str))
        return
    raters = f", {result.raters} raters" if result.raters > 1 else ""
    click.echo(
        f"{key} {result.definition_version} ({result.metric_type}, {result.model}) in {workspace_id} on "
        f"{labels_file}: {result.labelled} labelled conversations{raters}"
        + (f" ({len(result.unknown)} not in the warehouse)" if result.unknown else "")
    )
    headers = ["figure", "value", "95% interval", "n"] + (["raters' ceiling"] if result.ceiling else [])
    rows: list[list[object]] = []
    for name, fig in result.agreement.figures.items():
        interval = f"[{fig.low:.3f}, {fig.high:.3f}]" if fig.low is not None and fig.high is not None else "–"
        row: list[object] = [name, "–" if fig.value is None else f"{fig.value:.3f}", interval, fig.n]
        if result.ceiling:
            ceiling = result.ceiling.get(name)
            row.append("–" if ceiling is None or ceiling.value is None else f"{ceiling.value:.3f}")
        rows.append(row)
    echo_table(headers, rows)
    if result.agreement.confusion:
        classes = list(result.agreement.confusion)
        click.echo("confusion (rows: expected, columns: answered):")
        echo_table(["", *classes], [[a, *result.agreement.confusion[a].values()] for a in classes])
    if result.raters > 2:
        click.echo("(the raters' ceiling is the mean over every pair of raters)")
    click.echo(
        f"model calls: {result.calls} (${result.cost_usd:.4f}); answers from the cache: {result.cached}; "
        f"calibration {result.calibration_id}"
    )
    for line, reason in result.refused:
        click.echo(f"refused: line {line}: {reason}")
    for cid in result.unknown:
        click.echo(f"not in the warehouse: {cid}")
    for error in result.errors:
        click.echo(f"failed: {error}")
    if gate is not None:
        click.echo(f"gate: {gate.reason}")


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def _workspace_of(conn: duckdb.DuckDBPyConnection, labels_file: Path | None) -> str:
    """The workspace of the labelled conversations (all in one), when --workspace is not given."""
    from metricstore.calibration.labels import LabelsFileError, labelled_conversations

    if labels_file is None:
        _fail("give --workspace (and --labels, unless the metric's calibration gate names the file)")
    if not labels_file.is_file():
        _fail(f"no labels file {labels_file}")
    try:
        ids = sorted(labelled_conversations(labels_file))
    except LabelsFileError as exc:
        _fail(str(exc))
    if not ids:
        _fail(f"{labels_file} names no conversation (a conversation_id on each line, or a CSV header naming it)")
    rows = conn.execute(
        "SELECT DISTINCT workspace_id FROM raw.conversations WHERE list_contains($ids, conversation_id) ORDER BY 1",
        {"ids": ids},
    ).fetchall()
    if not rows:
        _fail(f"none of the {len(ids)} conversations {labels_file} labels is in the warehouse")
    if len(rows) > 1:
        _fail(f"the labelled conversations are in workspaces {', '.join(r[0] for r in rows)}: give --workspace")
    return str(rows[0][0])
