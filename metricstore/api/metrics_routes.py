"""``/v1/{ws}/metrics``: latest values, series, trends and the catalog from the published warehouse, and
on-demand evaluation of an AI metric on one conversation (not persisted)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from metricstore import query
from metricstore.api.auth import Reader, WorkspaceId
from metricstore.api.context import Catalog, Context
from metricstore.api.errors import error_responses
from metricstore.definitions import KEY_PATTERN
from metricstore.evaluation.base import Status
from metricstore.evaluation.on_demand import evaluate_subject, on_demand_subject
from metricstore.query_models import (
    CatalogResponse,
    EntityType,
    LatestResponse,
    Scope,
    Source,
    TrendResponse,
    ValuesResponse,
)

router = APIRouter(prefix="/v1/{ws}/metrics", tags=["metrics"])

MetricKey = Annotated[str, Path(pattern=KEY_PATTERN, max_length=64, description="The metric's key.")]
SourceFilter = Annotated[Source, Query(description="Production traffic or simulations.")]
READ_ERRORS = error_responses(401, 403, 422, 503)


@router.get("/latest", response_model=LatestResponse, responses=READ_ERRORS)
async def latest(
    ws: WorkspaceId,
    _: Reader,
    context: Context,
    catalog: Catalog,
    source: Annotated[Source | None, Query(description="Production or simulation; both when absent.")] = None,
    scope: Annotated[Scope, Query(description="Latest aggregates, latest values per entity, or both.")] = "aggregate",
    entity_type: Annotated[EntityType | None, Query(description="Only entities of this type.")] = None,
    entity_id: Annotated[str | None, Query(max_length=256)] = None,
    service_id: Annotated[str | None, Query(max_length=256)] = None,
    session_id: Annotated[str | None, Query(max_length=256)] = None,
    limit: Annotated[
        int, Query(ge=1, le=query.MAX_ENTITY_ROWS, description="At most this many entity values, newest first.")
    ] = 1000,
) -> Response:
    """The latest value of every metric of the workspace."""
    return await context.answers.answer(
        ("latest", ws, source, scope, entity_type, entity_id, service_id, session_id, limit),
        published=context.published,
        catalog=catalog,
        compute=lambda conn: query.latest(
            conn,
            catalog,
            ws,
            source=source,
            scope=scope,
            entity_type=entity_type,
            entity_id=entity_id,
            service_id=service_id,
            session_id=session_id,
            limit=limit,
        ),
    )


# Declared before /{key}: "catalog" is not a metric key.
@router.get("/catalog", response_model=CatalogResponse, responses=READ_ERRORS)
async def catalog_entries(ws: WorkspaceId, _: Reader, context: Context, catalog: Catalog) -> Response:
    """Every metric of the workspace with its configuration."""
    return await context.answers.answer(
        ("catalog", ws),
        published=context.published,
        catalog=catalog,
        compute=lambda conn: query.catalog_entries(conn, catalog, ws),
    )


@router.get("/{key}", response_model=ValuesResponse, responses=error_responses(401, 403, 404, 422, 503))
async def metric_values(
    ws: WorkspaceId,
    key: MetricKey,
    _: Reader,
    context: Context,
    catalog: Catalog,
    date_from: Annotated[date | None, Query(description="First day (UTC), inclusive.")] = None,
    date_to: Annotated[date | None, Query(description="Last day (UTC), inclusive.")] = None,
    limit: Annotated[int, Query(ge=1, le=365, description="At most this many periods, newest first.")] = 90,
    source: SourceFilter = "production",
) -> Response:
    """The aggregate series of one metric."""
    return await context.answers.answer(
        ("values", ws, key, date_from, date_to, limit, source),
        published=context.published,
        catalog=catalog,
        compute=lambda conn: query.values(
            conn, catalog, ws, key, date_from=date_from, date_to=date_to, limit=limit, source=source
        ),
    )


@router.get("/{key}/trend", response_model=TrendResponse, responses=error_responses(401, 403, 404, 422, 503))
async def metric_trend(
    ws: WorkspaceId,
    key: MetricKey,
    _: Reader,
    context: Context,
    catalog: Catalog,
    days: Annotated[int, Query(ge=1, le=365, description="The last this many days.")] = 30,
    source: SourceFilter = "production",
) -> Response:
    """The daily trend of one metric."""
    return await context.answers.answer(
        ("trend", ws, key, days, source),
        published=context.published,
        catalog=catalog,
        compute=lambda conn: query.trend(conn, catalog, ws, key, days=days, source=source),
    )


class EvaluateRequest(BaseModel):
    subject_id: str = Field(min_length=1, max_length=256, description="The conversation id (`data.id`).")


class EvaluationResponse(BaseModel):
    """One metric's answer for one conversation, typed (nothing is stored)."""

    metric_key: str
    definition_version: str
    conversation_id: str
    status: Status
    value_num: float | None = None
    value_text: str | None = None
    value_bool: bool | None = None
    value_list: list[str] | None = None
    rationale: str | None = None
    evidence: list[str] = Field(default_factory=list)
    ungrounded_evidence: list[str] = Field(default_factory=list, description="Quotes not found in the transcript.")
    model: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0


@router.post(
    "/{key}/evaluate",
    response_model=EvaluationResponse,
    responses=error_responses(400, 401, 403, 404, 422, 502, 503),
)
def evaluate(
    ws: WorkspaceId,
    key: MetricKey,
    body: EvaluateRequest,
    _: Reader,
    context: Context,
    catalog: Catalog,
) -> EvaluationResponse:
    """Evaluate an AI metric on one conversation now: 404 unknown metric or conversation, 422 not an AI metric,
    503 no model key for its tier, 502 the model call failed."""
    # The published snapshot is read, then released before the model call: a call of many seconds must not keep
    # the next snapshot from being opened by the other requests.
    with context.published.connect() as conn:
        metric, conversation = on_demand_subject(conn, catalog, key, body.subject_id, ws)
    evaluation = evaluate_subject(metric, conversation, client_factory=context.client_factory)
    return EvaluationResponse.model_validate(asdict(evaluation))
