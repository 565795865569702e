"""``/v1/{ws}/settings/metrics``: read and replace a workspace's metric definitions, and their history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Response
from pydantic import BaseModel, Field

from metricstore import settings_store
from metricstore.api.auth import Admin, Reader, WorkspaceId
from metricstore.api.context import Context
from metricstore.api.errors import error_responses
from metricstore.definitions import CalibrationGate
from metricstore.published import NotPublishedError
from metricstore.query import optional_rows, stale_gate_reason
from metricstore.settings_store import Change, WorkspaceDefinitions

router = APIRouter(prefix="/v1/{ws}/settings/metrics", tags=["settings"])

_ETAG_HEADER = {
    "ETag": {"description": "The version of the custom set: send it back as If-Match.", "schema": {"type": "string"}}
}


class DefinitionsResponse(BaseModel):
    definitions: list[dict[str, Any]] = Field(
        description="Built-in and custom definitions, each with `builtin` and `definition_version` (read-only); "
        "a definition with a calibration gate also has `gate` {live, reason} (read-only): whether its current "
        "version is live, as of the last run."
    )
    version: int | None = Field(description="The latest accepted change (history), null before the first.")


class DefinitionsUpdate(BaseModel):
    definitions: list[Any] = Field(
        max_length=1000,
        description="The whole custom set: definitions in the metric-store shape or the post-call shape "
        "{name, dataType, prompt, isRequired, description}. Built-ins sent back as GET returned them "
        "(`builtin: true`) are ignored.",
    )


class DefinitionsChanged(DefinitionsResponse):
    change: Change | None = Field(description="What this request changed; null when the set was already this.")


class HistoryResponse(BaseModel):
    changes: list[Change] = Field(description="Every accepted change, newest first.")


def _shown(current: WorkspaceDefinitions, response: Response, context: Context, ws: str) -> DefinitionsResponse:
    response.headers["ETag"] = current.etag
    verdicts = _gates(context, ws)
    definitions = [
        d | {"gate": _verdict(d, verdicts.get((d["key"], d["definition_version"])))} if "calibration" in d else d
        for d in current.definitions
    ]
    return DefinitionsResponse(definitions=definitions, version=current.version)


def _verdict(definition: dict[str, Any], checked: dict[str, Any] | None) -> dict[str, Any]:
    """The last run's verdict on a gated version while its gate is the one that run checked; else held back."""
    held_back = stale_gate_reason(CalibrationGate.model_validate(definition["calibration"]), checked)
    if held_back is not None:
        return {"live": False, "reason": held_back}
    assert checked is not None  # without a row, stale_gate_reason says why
    return {"live": checked["live"], "reason": checked["reason"]}


def _gates(context: Context, ws: str) -> dict[tuple[str, str], dict[str, Any]]:
    """The calibration gates' verdicts of the last published run, by (metric, version): every column, so that a
    store published before a column existed reads without it."""
    sql = "SELECT * FROM ops.metric_gates WHERE workspace_id = $ws"
    try:
        with context.published.connect() as conn:
            rows = optional_rows(conn, sql, {"ws": ws})
    except NotPublishedError:
        return {}
    return {(r["metric_key"], r["definition_version"]): r for r in rows}


@router.get(
    "",
    response_model=DefinitionsResponse,
    responses={200: {"headers": _ETAG_HEADER}, **error_responses(401, 403, 422)},
)
def read_definitions(ws: WorkspaceId, _: Reader, context: Context, response: Response) -> DefinitionsResponse:
    """The definitions that apply to the workspace."""
    return _shown(settings_store.read_definitions(context.settings.metric_defs, ws), response, context, ws)


@router.put(
    "",
    response_model=DefinitionsChanged,
    responses={200: {"headers": _ETAG_HEADER}, **error_responses(400, 401, 403, 412, 422)},
)
def replace_definitions(
    ws: WorkspaceId,
    body: DefinitionsUpdate,
    key: Admin,
    context: Context,
    response: Response,
    if_match: Annotated[str | None, Header(description="The ETag the change is based on; 412 if stale.")] = None,
) -> DefinitionsChanged:
    """Replace the workspace's custom definitions, all or nothing (admin, owner): 422 lists every error. Takes
    effect on the next run."""
    current, change = settings_store.replace_definitions(
        context.settings.metric_defs, ws, body.definitions, if_match=if_match, key_id=key.key_id
    )
    shown = _shown(current, response, context, ws)
    return DefinitionsChanged(definitions=shown.definitions, version=shown.version, change=change)


@router.get("/history", response_model=HistoryResponse, responses=error_responses(401, 403, 422))
def definitions_history(ws: WorkspaceId, _: Reader, context: Context) -> HistoryResponse:
    """Every accepted change: version, when, by which key, what changed and the whole set after it."""
    return HistoryResponse(changes=settings_store.history(context.settings.metric_defs, ws))
