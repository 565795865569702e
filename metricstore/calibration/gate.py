"""The calibration gate: a definition version that names a labelled set and a minimum agreement is live (its values
aggregated and delivered) only once a calibration of that version on that set reaches the minimum.

Held back rather than refused when saved: a calibration evaluates the labelled conversations, which for Claude
tiers costs model calls and minutes, so a save cannot wait for it; and the values of a held-back version are
already computed when it passes, so its aggregates and webhooks follow in the same run. Each run calibrates the
gated versions that have no calibration on their labels file yet (through the cache, so once per version and
file), then records every gated version's state in ``ops.metric_gates``; the aggregates leave held-back versions
out (the previous version's values stand until then), post-call records and webhooks carry no held-back metric.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from metricstore.calibration.labels import read_labels
from metricstore.calibration.run import CalibrationError, calibrate
from metricstore.catalog_loader import LoadedDefinition, MetricCatalog
from metricstore.definitions import MetricDefinition
from metricstore.evaluation.models import model_tiers
from metricstore.evaluation.pending import model_for
from metricstore.evaluation.run import ClientFactory, default_client
from metricstore.evaluation.store import PolarsType
from metricstore.warehouse import register_frame, run_script, transaction
from metricstore.windows import utc_now


@dataclass(frozen=True)
class GateState:
    """Whether a gated definition version is live, and why."""

    workspace_id: str
    metric_key: str
    definition_version: str
    live: bool
    reason: str
    measure: str
    minimum: float
    value: float | None = None
    calibration_id: str | None = None
    gate_settings: str | None = None  # the gate as checked (CalibrationGate.settings)


def labels_path(metric_defs: Path, loaded: LoadedDefinition, workspace_id: str) -> Path:
    """Where a gate's labels file is: relative to the workspace's definitions folder (built-ins: ``builtin/``)."""
    gate = loaded.definition.calibration
    assert gate is not None
    folder = metric_defs / "builtin" if loaded.builtin else metric_defs / "workspaces" / workspace_id
    return folder / gate.labels


@dataclass(frozen=True)
class _Calibrated:
    calibration_id: str
    figures: dict[str, dict[str, float | None]]
    labelled: int
    refused: int


def _latest(
    conn: duckdb.DuckDBPyConnection, workspace_id: str, metric: MetricDefinition, digest: str, model: str
) -> _Calibrated | None:
    """The newest calibration of the metric's version on the labels file whose digest is ``digest``, by ``model``,
    the one its tier runs on now: a new free-tier method or a tier mapped to another model answers differently, so
    an older model's calibration does not decide the gate."""
    row = conn.execute(
        "SELECT calibration_id, figures, labelled, refused_lines FROM ops.calibrations WHERE workspace_id = ? "
        "AND metric_key = ? AND definition_version = ? AND labels_digest = ? AND model = ? "
        "ORDER BY created_at DESC LIMIT 1",
        [workspace_id, metric.key, metric.definition_version, digest, model],
    ).fetchone()
    return _Calibrated(row[0], json.loads(row[1]), int(row[2]), int(row[3])) if row else None


def gate_state(
    conn: duckdb.DuckDBPyConnection,
    metric_defs: Path,
    workspace_id: str,
    loaded: LoadedDefinition,
    *,
    calibrate_missing: bool,
    client_factory: ClientFactory = default_client,
    run_id: str | None = None,
) -> GateState:
    """A gated version's state; with ``calibrate_missing``, a version not yet calibrated on its labels file is
    calibrated first. Whatever goes wrong holds back this metric only, with the reason."""
    metric = loaded.definition
    gate = metric.calibration
    assert gate is not None
    measure = gate.measure_for(metric.metric_type)

    def state(live: bool, reason: str, value: float | None = None, calibration_id: str | None = None) -> GateState:
        return GateState(
            workspace_id, metric.key, metric.definition_version, live, reason, measure, gate.min_agreement, value,
            calibration_id, gate.settings(),
        )  # fmt: skip

    model = model_for(metric.model_tier, model_tiers())
    path = labels_path(metric_defs, loaded, workspace_id)
    if not path.is_file():
        return state(False, f"held back: the labels file {gate.labels} is not in the workspace's folder")
    try:
        labels = read_labels(path, metric)
        found = _latest(conn, workspace_id, metric, labels.digest, model)
        if found is None and calibrate_missing:
            result = calibrate(conn, workspace_id, metric, labels, client_factory=client_factory, run_id=run_id)
            figures = {name: {"value": fig.value, "n": fig.n} for name, fig in result.agreement.figures.items()}
            found = _Calibrated(result.calibration_id, figures, result.labelled, len(result.refused))
    except (CalibrationError, OSError, ValueError) as exc:
        return state(False, f"held back: calibration failed: {exc}")
    if found is None:
        return state(
            False, f"held back: version {metric.definition_version} is not calibrated on {gate.labels} with {model} yet"
        )
    figure = found.figures.get(measure, {})
    value, n = figure.get("value"), int(figure.get("n") or 0)
    refused = f"; {found.refused} line{'s' if found.refused > 1 else ''} of the file refused" if found.refused else ""
    if value is None:
        reason = f"held back: {measure} is undefined on {gate.labels} (n = {n}{refused})"
        return state(False, reason, None, found.calibration_id)
    passed = value >= gate.min_agreement and n >= gate.min_labelled
    sign = "≥" if value >= gate.min_agreement else "<"
    reason = (
        f"{'live' if passed else 'held back'}: {measure} {value:.3f} {sign} {gate.min_agreement} on {n} of "
        f"{found.labelled} labelled conversations{refused}"
    )
    if n < gate.min_labelled:
        reason += f"; it must stand on at least {gate.min_labelled} (min_labelled)"
    return state(passed, reason, value, found.calibration_id)


def check_gates(
    conn: duckdb.DuckDBPyConnection,
    catalog: MetricCatalog,
    metric_defs: Path,
    *,
    client_factory: ClientFactory = default_client,
    run_id: str | None = None,
) -> list[GateState]:
    """Every gated version's state (calibrating those not yet calibrated), recorded in ops.metric_gates; a version
    whose state changed has its hours marked for the aggregate step to recompute."""
    states = [
        gate_state(conn, metric_defs, ws, loaded, calibrate_missing=True, client_factory=client_factory, run_id=run_id)
        for ws in catalog.workspaces
        for loaded in catalog.definitions_for(ws)
        if loaded.definition.calibration is not None
    ]
    store_gates(conn, states)
    return states


_GATE_SCHEMA: dict[str, PolarsType] = {
    "workspace_id": pl.String,
    "metric_key": pl.String,
    "definition_version": pl.String,
    "live": pl.Boolean,
    "reason": pl.String,
    "measure": pl.String,
    "minimum": pl.Float64,
    "value": pl.Float64,
    "calibration_id": pl.String,
    "gate_settings": pl.String,
    "checked_at": pl.Datetime("us"),
}


def store_gates(conn: duckdb.DuckDBPyConnection, states: list[GateState]) -> None:
    """Replace ops.metric_gates with ``states`` and mark the hours of versions that changed state stale."""
    now = utc_now()
    rows = [{**s.__dict__, "checked_at": now} for s in states]
    register_frame(conn, "gate_now", pl.DataFrame(rows, schema=_GATE_SCHEMA))
    with transaction(conn):
        run_script(conn, "calibration/store_gates.sql")
