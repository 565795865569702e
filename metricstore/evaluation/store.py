"""Storing what an AI run answered: typed values, content-addressed cache entries and model calls, in one
transaction per write. The cache key and the row shapes live here so the fan-out and a journal replay
(metricstore.evaluation.journal) write the same rows."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import asdict
from datetime import datetime
from typing import Any

import duckdb
import polars as pl

from metricstore.definitions import MetricDefinition
from metricstore.evaluation.base import Conversation, Evaluation
from metricstore.evaluation.claude import CallRecord
from metricstore.warehouse import register_frame, run_script, transaction

PolarsType = pl.DataType | type[pl.DataType]
LOCAL_MODEL = "local/8"
"""The free tier's part of a cache key: bump it when the free tier answers differently, so that cached answers of
the old method are not reused (2: displeasure-aware sentiment, role-aware extraction, confidences; 3: a bare
label name matched on its words and on its thesaurus words as two cosines; 4: a date must name a day of the
request on the side of today its field describes, and a customer's words are also read in the thesaurus's head
words; 5: function words left out of classification, an agent's line weighs half, a denied action reads as a
failure, a catch-all label answers when no other applies; 6: "get" in a label's name is no word of its meaning,
a glued name's boundary "s" goes with the noun, "problem" reads as broken and buying as starting, bare names blend
their kinds at 1/4; 7: greetings and thanks left out of classification, inflected words read by the thesaurus, a
described label also matched on its best part, the applicability cut 0.38; 8: a request for a thing not yet had
reads as starting, and a line is read only in head words some label's text holds)."""


def content_hash(data: Any) -> str:
    """A digest of a snapshot's content: the cache key's conversation part."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def cache_key(content: str, metric: MetricDefinition, model: str, sample: int | None = None) -> str:
    """The ops.llm_cache key of a metric's answer for a conversation content (``content_hash``) and model; with
    ``sample``, of the n-th of the repeated answers a definition's ``confidence_samples`` asks for (each is kept
    on its own, so that a run that dies between them buys none of them twice)."""
    tail = "" if sample is None else f"|sample{sample}"
    return hashlib.sha256(f"{content}|{metric.key}|{metric.definition_version}|{model}{tail}".encode()).hexdigest()


def sample_cache_keys(content: str, metric: MetricDefinition, model: str) -> dict[int, str]:
    """The cache keys of a metric's repeated answers (sample number → key); none unless it asks for them."""
    return {n: cache_key(content, metric, model, n) for n in range(1, (metric.confidence_samples or 0) + 1)}


def cache_row(key: str, metric: MetricDefinition, evaluation: Evaluation, now: datetime) -> dict[str, Any]:
    """The ops.llm_cache row of a fresh answer."""
    return {
        "cache_key": key,
        "metric_key": metric.key,
        "definition_version": metric.definition_version,
        "model": evaluation.model or LOCAL_MODEL,
        "evaluation": json.dumps(asdict(evaluation)),
        "created_at": now,
    }


def cached_evaluations(conn: duckdb.DuckDBPyConnection, keys: list[str]) -> dict[str, Evaluation]:
    """The cached answers among ``keys`` (cache key → evaluation), marked cached and costing nothing."""
    if not keys:
        return {}
    register_frame(conn, "wanted_cache_keys", pl.DataFrame({"cache_key": keys}, schema={"cache_key": pl.String}))
    rows = conn.execute(
        "SELECT c.cache_key, c.evaluation FROM ops.llm_cache c JOIN wanted_cache_keys USING (cache_key)"
    ).fetchall()
    found = {}
    for key, payload in rows:
        evaluation = Evaluation(**json.loads(payload))
        evaluation.cached = True
        evaluation.input_tokens = evaluation.output_tokens = 0
        evaluation.cache_creation_input_tokens = evaluation.cache_read_input_tokens = 0
        evaluation.cost_usd = evaluation.latency_ms = 0.0
        found[key] = evaluation
    return found


def call_row(record: CallRecord, tier: str, run_id: str | None, now: datetime) -> dict[str, Any]:
    """The ops.llm_calls row of one model call (its ``call_id`` makes storing it twice a no-op)."""
    return {
        "call_id": record.call_id,
        "run_id": run_id,
        "workspace_id": record.workspace_id,
        "conversation_id": record.conversation_id,
        "metric_keys": record.metric_keys,
        "model": record.model,
        "model_tier": tier,
        "mode": "batch" if record.batch_id else "realtime",
        "batch_id": record.batch_id,
        "input_tokens": record.input_tokens,
        "cache_creation_input_tokens": record.cache_creation_input_tokens,
        "cache_read_input_tokens": record.cache_read_input_tokens,
        "output_tokens": record.output_tokens,
        "cost_usd": record.cost_usd,
        "latency_ms": record.latency_ms,
        "attempts": record.attempts,
        "outcome": record.outcome,
        "error": record.error,
        "called_at": now,
    }


def value_row(c: Conversation, metric: MetricDefinition, evaluation: Evaluation, now: datetime) -> dict[str, Any]:
    """The metrics.metric_values row of one evaluation of a conversation."""
    return {
        "workspace_id": c.workspace_id,
        "metric_key": metric.key,
        "metric_type": metric.metric_type,
        "entity_type": "conversation",
        "entity_id": c.conversation_id,
        "session_id": c.session_id,
        "service_id": c.service_id,
        "channel": c.channel,
        "direction": c.direction,
        "source": "simulation" if c.is_simulation else "production",
        "occurred_at": c.occurred_at,
        "value_num": evaluation.value_num,
        "value_text": evaluation.value_text,
        "value_bool": evaluation.value_bool,
        "value_list": evaluation.value_list,
        "status": evaluation.status,
        "rationale": evaluation.rationale,
        "model": evaluation.model,
        "input_tokens": evaluation.input_tokens,
        "output_tokens": evaluation.output_tokens,
        "cost_usd": evaluation.cost_usd,
        "definition_version": metric.definition_version,
        "evaluated_at": now,
        "evidence": evaluation.evidence,
        "ungrounded_evidence": evaluation.ungrounded_evidence,
        "cache_creation_input_tokens": evaluation.cache_creation_input_tokens,
        "cache_read_input_tokens": evaluation.cache_read_input_tokens,
        "confidence": evaluation.confidence,
    }


VALUE_SCHEMA: dict[str, PolarsType] = {
    "workspace_id": pl.String,
    "metric_key": pl.String,
    "metric_type": pl.String,
    "entity_type": pl.String,
    "entity_id": pl.String,
    "session_id": pl.String,
    "service_id": pl.String,
    "channel": pl.String,
    "direction": pl.String,
    "source": pl.String,
    "occurred_at": pl.Datetime("us"),
    "value_num": pl.Float64,
    "value_text": pl.String,
    "value_bool": pl.Boolean,
    "value_list": pl.List(pl.String),
    "status": pl.String,
    "rationale": pl.String,
    "model": pl.String,
    "input_tokens": pl.Int64,
    "output_tokens": pl.Int64,
    "cost_usd": pl.Float64,
    "definition_version": pl.String,
    "evaluated_at": pl.Datetime("us"),
    "evidence": pl.List(pl.String),
    "ungrounded_evidence": pl.List(pl.String),
    "cache_creation_input_tokens": pl.Int64,
    "cache_read_input_tokens": pl.Int64,
    "confidence": pl.Float64,
}
CALL_SCHEMA: dict[str, PolarsType] = {
    "call_id": pl.String,
    "run_id": pl.String,
    "workspace_id": pl.String,
    "conversation_id": pl.String,
    "metric_keys": pl.List(pl.String),
    "model": pl.String,
    "model_tier": pl.String,
    "mode": pl.String,
    "batch_id": pl.String,
    "input_tokens": pl.Int64,
    "cache_creation_input_tokens": pl.Int64,
    "cache_read_input_tokens": pl.Int64,
    "output_tokens": pl.Int64,
    "cost_usd": pl.Float64,
    "latency_ms": pl.Float64,
    "attempts": pl.Int32,
    "outcome": pl.String,
    "error": pl.String,
    "called_at": pl.Datetime("us"),
}
CACHE_SCHEMA: dict[str, PolarsType] = {
    "cache_key": pl.String,
    "metric_key": pl.String,
    "definition_version": pl.String,
    "model": pl.String,
    "evaluation": pl.String,
    "created_at": pl.Datetime("us"),
}


def write_evaluations(
    conn: duckdb.DuckDBPyConnection,
    value_rows: list[dict[str, Any]],
    cache_rows: list[dict[str, Any]],
    call_rows: list[dict[str, Any]],
    spent_in: datetime | None = None,
) -> None:
    """Store values (replacing the same metric, entity and version), cache entries and calls (a call already
    stored is left as it is); mark the hours whose aggregates the new values change as stale; count the values
    as spent by the runs of hour partition ``spent_in`` (one transaction)."""
    spent = Counter((row["workspace_id"], row["metric_key"]) for row in value_rows if spent_in is not None)
    register_frame(conn, "ai_values", pl.DataFrame(value_rows, schema=VALUE_SCHEMA))
    register_frame(conn, "ai_cache", pl.DataFrame(cache_rows, schema=CACHE_SCHEMA))
    register_frame(conn, "ai_calls", pl.DataFrame(call_rows, schema=CALL_SCHEMA))
    register_frame(
        conn,
        "ai_spent",
        pl.DataFrame(
            [
                {"workspace_id": ws, "metric_key": key, "hour": spent_in, "evaluations": n}
                for (ws, key), n in spent.items()
            ],
            schema={
                "workspace_id": pl.String,
                "metric_key": pl.String,
                "hour": pl.Datetime("us"),
                "evaluations": pl.Int64,
            },
        ),
    )
    with transaction(conn):
        run_script(conn, "ai/store_evaluations.sql")
