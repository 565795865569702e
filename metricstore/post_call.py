"""The post-call record of one conversation (CONTRACT §6 ``GET /api/v1/call/get-metric``, §7 webhooks): the call
fields of its latest snapshot, the default post-call metrics as computed, and the workspace's custom metrics."""

from __future__ import annotations

import json
import re
from typing import Any, Literal

import duckdb
from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, ValidationError, model_serializer
from pydantic.alias_generators import to_camel

from metricstore.catalog_loader import LoadedDefinition, MetricCatalog
from metricstore.definitions import MetricDefinition
from metricstore.query import QueryError, optional_rows, typed_value
from metricstore.query_models import TypedValue
from metricstore.warehouse import render_sql

PostCallType = Literal["number", "string", "boolean", "array"]
POST_CALL_TYPES: dict[str, PostCallType] = {
    "numerical": "number",
    "categorical": "string",
    "text": "string",
    "boolean": "boolean",
    "list": "array",
}

# The wire names are camelCase (`isRequired`, `callData`); Python code uses snake_case.
_CAMEL = ConfigDict(alias_generator=to_camel, validate_by_name=True, validate_by_alias=True, serialize_by_alias=True)


class MetricSchema(BaseModel):
    """How a metric of the record is typed and described."""

    model_config = _CAMEL
    type: PostCallType = Field(description="number, string, boolean or array (from the metric type).")
    name: str = Field(description="The metric's display name.")
    description: str = Field(description="What the metric measures.")
    is_required: bool = Field(description="Whether the metric is required.")


class CustomMetricValue(BaseModel):
    """A custom metric's value for the conversation with its schema."""

    model_config = _CAMEL
    value: TypedValue = Field(
        description="The latest value under the metric's current definition version; null when there is none "
        "(not evaluated yet, or evaluated as missing, invalid, out of range or not applicable)."
    )
    metric_schema: MetricSchema = Field(alias="schema", description="The metric's schema.")


class TranscriptTurn(BaseModel):
    """One turn of the transcription."""

    model_config = ConfigDict(extra="allow")
    role: str = Field(description="assistant or user.")
    content: str = Field(description="What was said.")


class CallData(BaseModel):
    """The call fields of the conversation's latest snapshot (only those it carries, other fields included as they
    are), the default post-call metrics under their field names, and ``customMetrics``."""

    # Validated by the wire names only: a snapshot field `contact_id` stays itself, it does not become `contactId`.
    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=False,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="allow",
        coerce_numbers_to_str=True,
    )

    id: str = Field(description="The conversation id.")
    contact_id: str | None = Field(default=None, description="The contact.")
    agent_id: str | None = Field(default=None, description="The agent that took the call.")
    status: str | None = Field(default=None, description="The call's status.")
    start_time: str | None = Field(default=None, description="When the call started (ISO-8601).")
    end_time: str | None = Field(default=None, description="When the call ended (ISO-8601).")
    duration: float | None = Field(default=None, description="The call's length in seconds.")
    phone_number: str | None = Field(default=None, description="The customer's phone number.")
    contact_name: str | None = Field(default=None, description="The customer's name.")
    recording_url: str | None = Field(default=None, description="Where the recording is.")
    transcription: list[TranscriptTurn] | None = Field(default=None, description="The conversation, turn by turn.")
    # The default post-call metrics (absent when the workspace turned them off; null when not computed).
    summary: str | None = Field(default=None, description="Default metric: the post-call summary.")
    intent: str | None = Field(default=None, description="Default metric: the customer's primary intent.")
    sentiment: str | None = Field(default=None, description="Default metric: the customer's overall sentiment.")
    confidence: float | None = Field(default=None, description="Default metric: the analysis' confidence, 0 to 1.")
    key_points: list[str] | None = Field(default=None, description="Default metric: the key points.")
    action_items: list[str] | None = Field(default=None, description="Default metric: the action items.")
    call_status: str | None = Field(default=None, description="Default metric: how the call ended.")
    callback_required: bool | None = Field(default=None, description="Default metric: a callback is owed.")
    promised_date: str | None = Field(default=None, description="Default metric: a date promised to the customer.")
    self_evaluation: float | None = Field(default=None, description="Default metric: the agent's rating, 1 to 10.")
    follow_up_action: str | None = Field(default=None, description="Default metric: the follow-up called for.")
    ticket_raised: bool | None = Field(default=None, description="Default metric: a support ticket was raised.")
    custom_metrics: dict[str, CustomMetricValue] = Field(
        default_factory=dict, description="Every active custom metric of the workspace: {key: {value, schema}}."
    )

    @model_serializer(mode="wrap")  # no return annotation: one would replace the model's schema in OpenAPI
    def _only_present(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        # A field the snapshot does not carry is left out rather than sent as null.
        data = handler(self)
        absent = {name for name in type(self).model_fields if name not in self.model_fields_set}
        absent |= {to_camel(name) for name in absent}
        return {key: value for key, value in data.items() if key not in absent}


class PostCallRecord(BaseModel):
    """The post-call record: the body of ``GET /api/v1/call/get-metric`` and of the post-call webhook."""

    model_config = _CAMEL
    success: bool = Field(default=True, description="Always true on a record.")
    call_data: CallData = Field(description="The call fields, default metrics and custom metrics.")
    metric_schema: dict[str, MetricSchema] = Field(
        description="The schema of every metric in the record: default metrics under their field names in "
        "callData, custom metrics under their keys."
    )


def post_call_field(definition: MetricDefinition) -> str:
    """The callData field of a default post-call metric: the top-level snapshot field it reads (`$.keyPoints` →
    `keyPoints`), else its key in camelCase."""
    match = re.fullmatch(r"\$\.([A-Za-z_][A-Za-z0-9_]*)", definition.extract_path or "")
    return match.group(1) if match else to_camel(definition.key)


def metric_schema(definition: MetricDefinition) -> MetricSchema:
    """The post-call schema of a metric."""
    return MetricSchema(
        type=POST_CALL_TYPES[definition.metric_type],
        name=definition.name,
        description=definition.description,
        is_required=definition.is_required,
    )


def post_call_record(
    conn: duckdb.DuckDBPyConnection,
    catalog: MetricCatalog,
    workspace_id: str,
    *,
    call_id: str | None = None,
    agent_id: str | None = None,
    contact_id: str | None = None,
) -> PostCallRecord:
    """The post-call record of the conversation ``call_id``, or of the most recent one of ``agent_id`` and/or
    ``contact_id`` (every given filter applies). :class:`QueryError` ``invalid_parameter`` when none is given,
    ``unknown_call`` when no conversation of the workspace matches."""
    wanted = {
        "conversation_id = $call_id": ("call_id", call_id),
        "json_extract_string(data, '$.agentId') = $agent_id": ("agent_id", agent_id),
        "json_extract_string(data, '$.contactId') = $contact_id": ("contact_id", contact_id),
    }
    given = {condition: bound for condition, bound in wanted.items() if bound[1]}
    if not given:
        raise QueryError("invalid_parameter", "give callId, agentId or contactId")
    sql = render_sql("query/post_call_conversation.sql", filters=list(given))
    params = {"workspace_id": workspace_id, **dict(given.values())}
    row = conn.execute(sql, params).fetchone()
    if row is None:
        asked = ", ".join(f"{name}={value}" for name, value in given.values())
        raise QueryError("unknown_call", f"no conversation with {asked} in workspace {workspace_id}")
    conversation_id, _, raw = row
    metrics = record_metrics(conn, catalog, workspace_id)
    values = _values(conn, metrics, workspace_id, [str(conversation_id)])
    return _record(catalog, metrics, str(conversation_id), raw, values)


def post_call_records(
    conn: duckdb.DuckDBPyConnection, catalog: MetricCatalog, workspace_id: str, conversation_ids: list[str]
) -> dict[str, PostCallRecord]:
    """The post-call records of several conversations of a workspace at once (two queries, whatever their
    number), by conversation id; a conversation the warehouse does not have is left out."""
    if not conversation_ids:
        return {}
    params = {"workspace_id": workspace_id, "conversation_ids": conversation_ids}
    rows = conn.execute(render_sql("query/post_call_conversations.sql"), params).fetchall()
    metrics = record_metrics(conn, catalog, workspace_id)
    values = _values(conn, metrics, workspace_id, conversation_ids)
    return {str(cid): _record(catalog, metrics, str(cid), raw, values) for cid, _, raw in rows}


def record_metrics(
    conn: duckdb.DuckDBPyConnection, catalog: MetricCatalog, workspace_id: str
) -> list[LoadedDefinition]:
    """The metrics a workspace's post-call records carry: the default metrics in effect and the active custom
    ones, less any whose current version its calibration gate holds back (ops.metric_gates)."""
    held_back = {
        (row["metric_key"], row["definition_version"])
        for row in optional_rows(
            conn,
            "SELECT metric_key, definition_version FROM ops.metric_gates WHERE workspace_id = $ws AND NOT live",
            {"ws": workspace_id},
        )
    }
    return [
        d
        for d in catalog.definitions_for(workspace_id)  # active, less the defaults when the workspace is off
        if (not d.builtin or d.definition.post_call_default)
        and (d.definition.key, d.definition.definition_version) not in held_back
    ]


def _record(
    catalog: MetricCatalog,
    metrics: list[LoadedDefinition],
    conversation_id: str,
    raw: Any,
    values: dict[tuple[str, str], TypedValue],
) -> PostCallRecord:
    data = json.loads(raw) if isinstance(raw, str) else dict(raw)
    defaults = [d for d in metrics if d.builtin]
    custom = [d for d in metrics if not d.builtin]

    # A default metric's field carries the computed value, never the snapshot's raw one, and is absent when off.
    for d in catalog.builtins:
        if d.definition.post_call_default:
            data.pop(post_call_field(d.definition), None)
    schemas: dict[str, MetricSchema] = {}
    for d in defaults:
        field = post_call_field(d.definition)
        data[field] = values.get((conversation_id, d.definition.key))
        schemas[field] = metric_schema(d.definition)
    data["customMetrics"] = {
        d.definition.key: CustomMetricValue(
            value=values.get((conversation_id, d.definition.key)), schema=metric_schema(d.definition)
        )
        for d in custom
    }
    schemas |= {d.definition.key: metric_schema(d.definition) for d in custom}
    data["id"] = conversation_id  # data.id is the conversation id; as a string whatever its JSON type
    return PostCallRecord(call_data=_call_data(data), metric_schema=schemas)


def _values(
    conn: duckdb.DuckDBPyConnection, metrics: list[LoadedDefinition], workspace_id: str, conversation_ids: list[str]
) -> dict[tuple[str, str], TypedValue]:
    """Each (conversation, metric)'s value under the metric's current version, for the metrics a post-call record
    carries (:func:`record_metrics`); only `ok` values count."""
    if not metrics:
        return {}
    params = {
        "workspace_id": workspace_id,
        "conversation_ids": conversation_ids,
        "metric_keys": [d.definition.key for d in metrics],
        "definition_versions": [d.definition.definition_version for d in metrics],
    }
    rows = conn.execute(render_sql("query/post_call_values.sql"), params).fetchall()
    return {
        (entity_id, key): typed_value(metric_type, num, text, flag, items)
        for entity_id, key, metric_type, num, text, flag, items, status in rows
        if status == "ok"
    }


def _call_data(fields: dict[str, Any]) -> CallData:
    """CallData from the snapshot's fields; a call field of the wrong shape (a transcription that is not a list
    of turns, say) is left out instead of failing the whole record."""
    try:
        return CallData.model_validate(fields)
    except ValidationError as exc:
        wrong = {str(error["loc"][0]) for error in exc.errors() if error["loc"]}
        return CallData.model_validate({k: v for k, v in fields.items() if k not in wrong or k == "customMetrics"})
