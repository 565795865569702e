"""Which (metric, conversation) pairs a run evaluates: per hour of its window, the conversations whose latest
snapshot falls in the 24 hours before the hour's end, the most recent ``cap`` per metric not yet evaluated under
the metric's definition version (for a workspace evaluating on arrival, what is left of the hour's budget), each
conversation's pairs of one tier grouped into one unit of work. The window comes from the partition, never from
the clock.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import duckdb
import polars as pl

from metricstore.catalog_loader import MetricCatalog
from metricstore.definitions import MetricDefinition
from metricstore.evaluation.base import Conversation, Evaluation, Turn
from metricstore.evaluation.claude import ClaudeSettings
from metricstore.evaluation.models import CLAUDE_TIERS, ModelPrice
from metricstore.evaluation.store import LOCAL_MODEL, cache_key, cached_evaluations, content_hash, sample_cache_keys
from metricstore.warehouse import register_frame, run_script
from metricstore.windows import HOUR


@dataclass(frozen=True)
class AiSettings:
    """How an AI run behaves; the defaults are the product's."""

    cap_per_metric: int = 500
    lookback: timedelta = timedelta(hours=24)
    concurrency: int = 16
    max_cost_usd: float | None = None
    redact: bool = True
    batch: bool = False  # Claude tiers through the Message Batches API (backfills): collected by later runs
    # A run started by arriving landing files: only workspaces whose ai_cadence is on_arrival, and only their
    # conversations whose snapshot says the call ended.
    arrival: bool = False
    claude: ClaudeSettings = field(default_factory=ClaudeSettings)


def ai_specs(
    catalog: MetricCatalog,
    workspaces: Iterable[str],
    settings: AiSettings | None = None,
    spent: Mapping[tuple[str, str], int] | None = None,
) -> pl.DataFrame:
    """The AI metrics a run evaluates, per workspace, each with its cap and whether only ended calls count.

    A workspace whose ``ai_cadence`` is ``hourly`` caps each run at ``cap_per_metric`` and takes no part in
    arrival runs. One that is ``on_arrival`` has a budget instead: ``cap_per_metric`` evaluations per metric for
    each hour partition, shared by that hour's runs (arrival runs and the hourly run); ``spent`` holds what they
    spent already."""
    settings = settings or AiSettings()
    rows = []
    for ws in workspaces:
        on_arrival = catalog.settings_for(ws).ai_cadence == "on_arrival"
        if settings.arrival and not on_arrival:
            continue
        for d in catalog.definitions_for(ws):
            m = d.definition
            if not (m.is_ai and m.source == "call_intelligence"):
                continue
            cap = settings.cap_per_metric - (spent or {}).get((ws, m.key), 0) if on_arrival else settings.cap_per_metric
            rows.append(
                {
                    "workspace_id": ws,
                    "metric_key": m.key,
                    "definition_version": m.definition_version,
                    "model_tier": m.model_tier,
                    "event_types": m.event_types,
                    "channel_scope": m.channel_scope,
                    "cap": max(cap, 0),
                    "ended_only": settings.arrival,
                }
            )
    return pl.DataFrame(
        rows,
        schema={
            "workspace_id": pl.String,
            "metric_key": pl.String,
            "definition_version": pl.String,
            "model_tier": pl.String,
            "event_types": pl.List(pl.String),
            "channel_scope": pl.String,
            "cap": pl.Int64,
            "ended_only": pl.Boolean,
        },
    )


def spent_in_hour(conn: duckdb.DuckDBPyConnection, hour: datetime) -> dict[tuple[str, str], int]:
    """The AI evaluations the runs of hour partition ``hour`` stored, per (workspace, metric): what its budget
    has spent (counted with the values, in their transaction: a run that died spent what it stored, no more)."""
    rows = conn.execute(
        "SELECT workspace_id, metric_key, evaluations FROM ops.ai_spend WHERE hour = $hour", {"hour": hour}
    ).fetchall()
    return {(ws, key): n for ws, key, n in rows}


def conversation_from_row(row: dict[str, Any]) -> Conversation:
    """A Conversation from a raw.events row (its `data` as a JSON string)."""
    data = json.loads(row["data"]) if isinstance(row["data"], str) else row["data"]
    turns = data.get("transcription") or []
    transcript = tuple(
        Turn(str(t.get("role", "")), str(t.get("content", "")))
        for t in turns
        if isinstance(t, dict) and t.get("content")
    )
    return Conversation(
        workspace_id=row["workspace_id"],
        conversation_id=row["conversation_id"],
        occurred_at=row["occurred_at"],
        transcript=transcript,
        call=data,
        session_id=row.get("session_id"),
        service_id=row.get("service_id"),
        channel=row.get("channel"),
        direction=row.get("direction"),
        is_simulation=bool(row.get("is_simulation")),
    )


def load_conversations(
    conn: duckdb.DuckDBPyConnection, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], Conversation]:
    """Conversations by their latest snapshot in the warehouse, for (workspace, conversation id) keys."""
    wanted = pl.DataFrame(
        sorted(set(keys)), schema={"workspace_id": pl.String, "conversation_id": pl.String}, orient="row"
    )
    register_frame(conn, "wanted_conversations", wanted)
    rows = conn.execute(
        "SELECT e.* FROM raw.events e JOIN wanted_conversations w USING (workspace_id, conversation_id) "
        "QUALIFY row_number() OVER (PARTITION BY e.workspace_id, e.conversation_id "
        "ORDER BY e.occurred_at DESC, e.snapshot_version DESC NULLS LAST, e.event_id DESC) = 1"
    ).pl()
    return {(r["workspace_id"], r["conversation_id"]): conversation_from_row(r) for r in rows.iter_rows(named=True)}


@dataclass
class Work:
    conversation: Conversation
    tier: str
    metrics: list[MetricDefinition]
    _cache_keys: dict[str, str] = field(default_factory=dict, repr=False)
    _sample_keys: dict[str, dict[int, str]] = field(default_factory=dict, repr=False)

    def cache_keys(self, tiers: dict[str, ModelPrice]) -> dict[str, str]:
        """Each metric's cache key (metric key → key), the conversation's content hashed once per unit."""
        if not self._cache_keys:
            content, model = content_hash(self.conversation.call), model_for(self.tier, tiers)
            self._cache_keys.update({m.key: cache_key(content, m, model) for m in self.metrics})
            self._sample_keys.update({m.key: sample_cache_keys(content, m, model) for m in self.metrics})
        return self._cache_keys

    def sample_keys(self, tiers: dict[str, ModelPrice]) -> dict[str, dict[int, str]]:
        """The cache keys of the repeated answers of the metrics that ask for them (metric key → n → key)."""
        self.cache_keys(tiers)
        return {key: keys for key, keys in self._sample_keys.items() if keys}


def pending_work(
    conn: duckdb.DuckDBPyConnection,
    catalog: MetricCatalog,
    hour_end: datetime,
    settings: AiSettings,
    assumed_done: set[tuple[str, str, str]] | None = None,
) -> list[Work]:
    """The hour's pending pairs, grouped into one unit of work per conversation and tier. ``assumed_done``
    (workspace, metric, conversation) pairs count as evaluated: an estimate's earlier hours."""
    workspaces = set(catalog.workspaces) | {
        r[0] for r in conn.execute("SELECT DISTINCT workspace_id FROM raw.events").fetchall()
    }
    specs = ai_specs(catalog, sorted(workspaces), settings, spent_in_hour(conn, hour_end - HOUR))
    if specs.height == 0:
        return []
    register_frame(conn, "ai_specs", specs)
    done = sorted(assumed_done or set())
    register_frame(
        conn,
        "ai_assumed_done",
        pl.DataFrame(
            done,
            schema={"workspace_id": pl.String, "metric_key": pl.String, "conversation_id": pl.String},
            orient="row",
        ),
    )
    params = {"lookback_start": hour_end - settings.lookback, "window_end": hour_end}
    run_script(conn, "ai/pending_pairs.sql", params)
    pending = conn.execute(
        "SELECT p.workspace_id, p.metric_key, p.model_tier, e.* EXCLUDE (workspace_id) FROM ai_pending p "
        "JOIN raw.events e ON e.event_id = p.event_id AND e.occurred_at = p.occurred_at "
        "ORDER BY p.occurred_at DESC, p.conversation_id, p.metric_key"
    ).pl()
    definitions = {(ws, d.definition.key): d.definition for ws in workspaces for d in catalog.definitions_for(ws)}
    work: dict[tuple[str, str, str], Work] = {}
    for row in pending.iter_rows(named=True):  # ≤ cap × AI metrics rows: the unit of work is a model call
        key = (row["workspace_id"], row["conversation_id"], row["model_tier"])
        if key not in work:
            work[key] = Work(conversation_from_row(row), row["model_tier"], [])
        work[key].metrics.append(definitions[(row["workspace_id"], row["metric_key"])])
    return list(work.values())


def model_for(tier: str, tiers: dict[str, ModelPrice]) -> str:
    return tiers[tier].model if tier in CLAUDE_TIERS else LOCAL_MODEL


def cached_answers(
    conn: duckdb.DuckDBPyConnection, work: list[Work], tiers: dict[str, ModelPrice]
) -> dict[str, Evaluation]:
    keys: list[str] = []
    for item in work:
        keys += item.cache_keys(tiers).values()
        keys += [key for samples in item.sample_keys(tiers).values() for key in samples.values()]
    return cached_evaluations(conn, keys)
