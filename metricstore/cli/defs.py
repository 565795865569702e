"""`metricstore defs`: validate the metric definitions, write their JSON Schema and the catalog page."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from metricstore.catalog_loader import MetricCatalog, collect_catalog, definition_file_schema, load_catalog
from metricstore.config import Settings

SCHEMA_FILE = Path("schema") / "metric-definitions.schema.json"


@click.group()
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
    _echo_gates(root, catalog)


def _echo_gates(root: Path, catalog: MetricCatalog) -> None:
    """Each calibration gate's verdict on the current version, from the last published run's calibrations (a
    version held back is valid: its values wait for a calibration that passes)."""
    from metricstore.calibration.gate import gate_state
    from metricstore.published import NotPublishedError, open_published

    gated = [(ws, d) for ws in catalog.workspaces for d in catalog.definitions_for(ws) if d.definition.calibration]
    if not gated:
        return
    try:
        conn = open_published(Settings.from_env())
    except NotPublishedError:
        click.echo(f"{len(gated)} calibration gate(s): not checked, nothing is published yet (the next run does)")
        return
    with conn:
        for ws, loaded in gated:
            state = gate_state(conn, root, ws, loaded, calibrate_missing=False)
            click.echo(f"gate {ws}/{state.metric_key} {state.definition_version}: {state.reason}")


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
