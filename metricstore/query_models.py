"""The response models of the read side: what the query functions of :mod:`metricstore.query` return, and what
the HTTP API's query routes and ``metricstore query`` answer with (their names are those of the OpenAPI schemas)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field

from metricstore.definitions import Aggregation, MetricDefinition, MetricType

Source = Literal["production", "simulation"]
Scope = Literal["aggregate", "entity", "all"]
Granularity = Literal["hourly", "daily"]
EntityType = Literal["conversation", "event"]
# A per-entity value as its metric type gives it: numerical → number, categorical/text → string, boolean, list.
TypedValue = bool | float | str | list[str] | None


def _as_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# The warehouse stores UTC as naive TIMESTAMPs; responses carry the offset (RFC 3339 date-time, as OpenAPI says).
UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]


class AggregateLatest(BaseModel):
    """The latest aggregate of one metric and source."""

    metric_key: str = Field(description="The metric's key.")
    name: str = Field(description="The metric's display name.")
    metric_type: MetricType = Field(description="The type of the metric's per-entity values.")
    aggregation: Aggregation = Field(description="How the period's values were aggregated.")
    unit: str | None = Field(description="The unit of the value, when the definition gives one.")
    granularity: Granularity = Field(description="The metric's own period granularity.")
    period_start: UtcDatetime = Field(description="Start of the period (UTC) this aggregate covers.")
    source: Source = Field(description="Production or simulation conversations.")
    value: float | None = Field(description="The aggregate; null where it is undefined (a ratio over 0).")
    sample_count: int = Field(description="How many values the aggregate was computed from.")
    computed_at: UtcDatetime = Field(description="When the job computed this aggregate (UTC).")


class EntityLatest(BaseModel):
    """The latest value of one metric for one entity (a conversation or an event)."""

    metric_key: str = Field(description="The metric's key.")
    metric_type: MetricType = Field(description="Decides the type of `value`.")
    entity_type: EntityType = Field(description="`conversation` (call-intelligence snapshots) or `event`.")
    entity_id: str = Field(description="The conversation id (data.id) or the event id.")
    session_id: str | None = Field(description="The event envelope's session id.")
    service_id: str | None = Field(description="The event envelope's service id.")
    channel: str | None = Field(description="voice, text or surface.")
    direction: str | None = Field(description="inbound or outbound, when known.")
    source: Source = Field(description="Production or simulation.")
    value: TypedValue = Field(
        description="The typed value: a number (numerical), a string (categorical, text), a boolean or a list of "
        "strings; null when the value is missing or invalid."
    )
    status: str = Field(
        description="ok, out_of_range, missing, invalid, not_applicable or low_confidence; only ok is aggregated."
    )
    confidence: float | None = Field(
        default=None,
        description="How sure the evaluator was of an AI value, in [0, 1]; null for static values and Claude tiers.",
    )
    definition_version: str = Field(description="The version of the definition that produced the value.")
    occurred_at: UtcDatetime = Field(description="When the entity occurred (UTC).")
    evaluated_at: UtcDatetime = Field(description="When the value was computed (UTC).")


class LatestResponse(BaseModel):
    """`GET /v1/{ws}/metrics/latest`: latest aggregates, latest per-entity values, or both."""

    workspace_id: str = Field(description="The workspace queried.")
    scope: Scope = Field(description="What was asked for: `aggregate`, `entity` or `all`.")
    source: Source | None = Field(description="The source filter; null for both.")
    aggregates: list[AggregateLatest] = Field(
        default_factory=list, description="Latest aggregate per metric and source (scope aggregate or all)."
    )
    entities: list[EntityLatest] = Field(
        default_factory=list, description="Latest value per metric and entity, newest first (scope entity or all)."
    )
    entities_truncated: bool = Field(
        default=False, description="True when more entity values matched than the limit; narrow the filters."
    )


class ValuePoint(BaseModel):
    """One period of a metric's aggregate series."""

    period_start: UtcDatetime = Field(description="Start of the period (UTC).")
    value: float | None = Field(description="The aggregate of the period; null where undefined.")
    sample_count: int = Field(description="How many values the aggregate was computed from.")


class MetricSeries(BaseModel):
    """What a series is of: the metric, how its periods are aggregated, and the source."""

    workspace_id: str = Field(description="The workspace queried.")
    metric_key: str = Field(description="The metric's key.")
    name: str = Field(description="The metric's display name.")
    unit: str | None = Field(description="The unit of the values.")
    aggregation: Aggregation = Field(description="How each period's values are aggregated.")
    source: Source = Field(description="Production or simulation.")


class ValuesResponse(MetricSeries):
    """`GET /v1/{ws}/metrics/{key}`: a metric's aggregates at its own granularity, newest first."""

    granularity: Granularity = Field(description="The metric's own period granularity.")
    date_from: date | None = Field(description="First day included (UTC), if given.")
    date_to: date | None = Field(description="Last day included (UTC), if given.")
    limit: int = Field(description="The most periods returned (1–365).")
    points: list[ValuePoint] = Field(description="The periods, newest first.")


class TrendPoint(BaseModel):
    """One day of a metric's daily series."""

    day: date = Field(description="The day (UTC).")
    value: float | None = Field(description="The daily aggregate; null on a day without data.")
    sample_count: int = Field(description="How many values the aggregate was computed from; 0 on a day without data.")


class TrendSummary(BaseModel):
    """The change between the first and the last day that has a value."""

    first_day: date | None = Field(default=None, description="The first day with a value.")
    first_value: float | None = Field(default=None, description="Its value.")
    last_day: date | None = Field(default=None, description="The last day with a value.")
    last_value: float | None = Field(default=None, description="Its value.")
    change: float | None = Field(default=None, description="last_value - first_value.")
    change_pct: float | None = Field(default=None, description="The change in percent of first_value (null at 0).")
    direction: Literal["up", "down", "flat"] | None = Field(
        default=None, description="The sign of the change; null with fewer than two days with a value."
    )


class TrendResponse(MetricSeries):
    """`GET /v1/{ws}/metrics/{key}/trend`: the daily series of the last `days` days, gaps filled."""

    days: int = Field(description="The length of the window in days (1–365).")
    start_day: date | None = Field(description="The first day of the window; null when nothing is published.")
    end_day: date | None = Field(
        description="The newest day the workspace has published aggregates for (not today's date): the same "
        "published store always gives the same trend."
    )
    points: list[TrendPoint] = Field(description="One point per day, oldest first.")
    summary: TrendSummary = Field(description="First and last value of the window and the change between them.")


class CalibrationFigure(BaseModel):
    """One agreement figure with its bootstrap 95 % interval and the n it stands on."""

    value: float | None = Field(description="The estimate; null where undefined (one class on both sides, say).")
    low: float | None = Field(default=None, description="Lower bound of the 95 % interval.")
    high: float | None = Field(default=None, description="Upper bound of the 95 % interval.")
    n: int = Field(description="The labelled conversations it stands on.")


class CalibrationSummary(BaseModel):
    """The newest calibration of the metric's current definition version (`metricstore calibrate`)."""

    calibration_id: str = Field(description="The calibration (a row of ops.calibrations).")
    labels_path: str = Field(description="The labels file it was measured on.")
    labelled: int = Field(description="Conversations with a usable label.")
    raters: int = Field(description="Distinct raters in the file.")
    model: str = Field(description="What answered: a Claude model or `local` (the free tier).")
    created_at: UtcDatetime = Field(description="When it ran (UTC).")
    figures: dict[str, CalibrationFigure] = Field(description="Agreement figures by name (by metric type).")


class GateSummary(BaseModel):
    """The calibration gate's verdict on the current definition version."""

    live: bool = Field(description="Whether the version's values are aggregated and delivered.")
    reason: str = Field(description="Why: the measure, its value and the minimum, or what is missing.")
    measure: str = Field(description="The figure compared with the minimum.")
    minimum: float = Field(description="The definition's min_agreement.")
    value: float | None = Field(description="The figure the last calibration gave; null when there is none.")


class CatalogEntry(BaseModel):
    """One metric of the workspace with its configuration and what the published store holds for it."""

    key: str = Field(description="The metric's key.")
    name: str = Field(description="The metric's display name.")
    builtin: bool = Field(description="Shipped with the product (true) or a custom metric of the workspace.")
    active: bool = Field(description="Computed by the job.")
    definition_version: str = Field(description="The version of the current definition.")
    published_definition_version: str | None = Field(
        description="The version the last published run computed with; differs until the next run picks up a change."
    )
    has_values: bool = Field(description="Whether the published store holds any value or aggregate of it yet.")
    latest_period_start: UtcDatetime | None = Field(description="Start of its newest published aggregate period.")
    calibration: CalibrationSummary | None = Field(
        default=None, description="The newest calibration of the current version; null when it has none."
    )
    gate: GateSummary | None = Field(
        default=None, description="The calibration gate's verdict on the current version; null without a gate."
    )
    definition: MetricDefinition = Field(description="The full definition.")


class CatalogResponse(BaseModel):
    """`GET /v1/{ws}/metrics/catalog`: every metric of the workspace, built-in and custom."""

    workspace_id: str = Field(description="The workspace queried.")
    default_metrics_enabled: bool = Field(description="Whether the 12 post-call default metrics apply.")
    metrics: list[CatalogEntry] = Field(description="Built-ins first, then custom metrics, each in file order.")
