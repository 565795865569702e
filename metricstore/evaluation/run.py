"""The hourly AI evaluation: choose the pending (metric, conversation) pairs of each hour's 24-hour window,
answer them from the cache or by a fan-out over the evaluators, and store typed values and every call.

Per hour of the run's window: conversations whose latest snapshot falls in the 24 hours before the hour's
end, the most recent ``cap`` per metric not yet evaluated under the metric's definition version. The window
comes from the partition, never from the clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import anthropic
import duckdb
import polars as pl

from metricstore.catalog_loader import MetricCatalog
from metricstore.definitions import MetricDefinition
from metricstore.evaluation.answers import apply_min_confidence
from metricstore.evaluation.base import Conversation, Evaluation, Status, Turn
from metricstore.evaluation.claude import (
    Budget,
    CallRecord,
    ClaudeEvaluator,
    ClaudeSettings,
    Pacer,
    bill,
    evaluations_from_answers,
    read_answer,
)
from metricstore.evaluation.journal import CallJournal, replay_journals, warehouse_path
from metricstore.evaluation.local import LocalEvaluator
from metricstore.evaluation.models import CLAUDE_TIERS, ModelPrice, model_tiers
from metricstore.evaluation.prompts import build_request
from metricstore.evaluation.store import (
    LOCAL_MODEL,
    PolarsType,
    cache_key,
    cache_row,
    cached_evaluations,
    call_row,
    content_hash,
    sample_cache_keys,
    value_row,
    write_evaluations,
)
from metricstore.prompt_check import prompt_problem
from metricstore.warehouse import prepare, register_frame, run_script
from metricstore.windows import HOUR, TimeWindow, utc_now

STORE_EVERY_SECONDS = 1.0  # how often the fan-out writes what has been answered so far


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


@dataclass
class AiRunResult:
    """What an AI run did, for asset metadata and the run summary."""

    pairs_pending: int = 0
    evaluated: int = 0
    cache_hits: int = 0
    failures: int = 0
    not_applicable: int = 0
    out_of_range: int = 0
    low_confidence: int = 0
    # a skipped pair stays pending, so each later hour of a range run meets it again: count pairs once
    skipped_no_key_pairs: set[tuple[str, str, str]] = field(default_factory=set)
    skipped_budget_pairs: set[tuple[str, str, str]] = field(default_factory=set)
    calls: int = 0
    input_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    cost_by_metric: dict[str, float] = field(default_factory=dict)
    skipped_metrics: set[str] = field(default_factory=set)
    batched_pairs: set[tuple[str, str, str]] = field(default_factory=set)
    batches_submitted: list[str] = field(default_factory=list)
    batches_collected: list[str] = field(default_factory=list)
    evaluated_pairs: set[tuple[str, str, str]] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)

    @property
    def skipped_no_key(self) -> int:
        return len(self.skipped_no_key_pairs)

    @property
    def skipped_budget(self) -> int:
        return len(self.skipped_budget_pairs - self.evaluated_pairs)

    @property
    def error_rate(self) -> float:
        attempted = self.evaluated + self.failures
        return self.failures / attempted if attempted else 0.0

    def latency_ms(self, quantile: float) -> float:
        if not self.latencies_ms:
            return 0.0
        if len(self.latencies_ms) == 1:
            return self.latencies_ms[0]
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[int(quantile * 100) - 1]


ClientFactory = Callable[[], anthropic.AsyncAnthropic | None]


def default_client() -> anthropic.AsyncAnthropic | None:
    """The SDK client (it reads ANTHROPIC_API_KEY and ANTHROPIC_BASE_URL), or None without a key.
    Retries are ours (metricstore.evaluation.claude), so the SDK's are off."""
    if not os.environ.get("ANTHROPIC_API_KEY"):
        return None
    return anthropic.AsyncAnthropic(max_retries=0, timeout=120.0)


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
class _Work:
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


def evaluate_window(
    conn: duckdb.DuckDBPyConnection,
    catalog: MetricCatalog,
    window: TimeWindow,
    *,
    settings: AiSettings | None = None,
    client_factory: ClientFactory = default_client,
    run_id: str | None = None,
) -> AiRunResult:
    """Evaluate the AI metrics of every hour of ``window`` (each hour: its own 24-hour lookback and cap). What a
    process that ended mid fan-out journalled is stored first (metricstore.evaluation.journal)."""
    prepare(conn)
    replay_journals(conn)
    return asyncio.run(_evaluate_window(conn, catalog, window, settings or AiSettings(), client_factory, run_id))


async def _evaluate_window(
    conn: duckdb.DuckDBPyConnection,
    catalog: MetricCatalog,
    window: TimeWindow,
    settings: AiSettings,
    client_factory: ClientFactory,
    run_id: str | None,
) -> AiRunResult:
    result = AiRunResult()
    tiers = model_tiers()
    budget = Budget(settings.max_cost_usd)
    client = client_factory()  # inside the event loop that uses it
    batch: list[tuple[_Work, list[MetricDefinition]]] | None = [] if settings.batch and client else None
    try:
        if client is not None:
            await _collect_batches(conn, client, catalog, tiers, settings, result, run_id)
        for hour in window.hours():
            work = pending_work(conn, catalog, hour + HOUR, settings, assumed_done=result.batched_pairs)
            if not work:
                continue
            result.pairs_pending += sum(len(item.metrics) for item in work)
            await _fan_out(conn, work, hour, settings, client, tiers, budget, result, run_id, batch)
        if batch and client is not None:
            await _submit_batches(conn, client, batch, tiers, settings, result, run_id)
    finally:
        if client is not None:
            await client.close()
    return result


def pending_work(
    conn: duckdb.DuckDBPyConnection,
    catalog: MetricCatalog,
    hour_end: datetime,
    settings: AiSettings,
    assumed_done: set[tuple[str, str, str]] | None = None,
) -> list[_Work]:
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
    work: dict[tuple[str, str, str], _Work] = {}
    for row in pending.iter_rows(named=True):  # ≤ cap × AI metrics rows: the unit of work is a model call
        key = (row["workspace_id"], row["conversation_id"], row["model_tier"])
        if key not in work:
            work[key] = _Work(conversation_from_row(row), row["model_tier"], [])
        work[key].metrics.append(definitions[(row["workspace_id"], row["metric_key"])])
    return list(work.values())


@dataclass
class MetricEstimate:
    """What the pending evaluations of one metric would cost (tokens: characters / 4, an approximation)."""

    metric_key: str
    model_tier: str
    model: str
    evaluations: int = 0
    cached: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0


OUTPUT_TOKENS_PER_METRIC = 80


def estimate_window(
    conn: duckdb.DuckDBPyConnection,
    catalog: MetricCatalog,
    window: TimeWindow,
    *,
    settings: AiSettings | None = None,
    metric_keys: set[str] | None = None,
) -> tuple[list[MetricEstimate], int]:
    """Per metric, the evaluations, tokens and dollars a run over ``window`` would spend now (cache hits
    free), and the number of model calls; nothing is called or stored."""
    settings = settings or AiSettings()
    tiers = model_tiers()
    estimates: dict[str, MetricEstimate] = {}
    calls = 0
    counted: set[tuple[str, str, str]] = set()  # a run stores each hour's answers: later hours skip them
    for hour in window.hours():
        work = pending_work(conn, catalog, hour + HOUR, settings, assumed_done=counted)
        cached = _cached_answers(conn, work, tiers)
        for item in work:
            model = model_for(item.tier, tiers)
            keys = item.cache_keys(tiers)
            c = item.conversation
            counted |= {(c.workspace_id, m.key, c.conversation_id) for m in item.metrics}
            todo = [m for m in item.metrics if keys[m.key] not in cached]
            chosen = [m for m in item.metrics if metric_keys is None or m.key in metric_keys]
            for m in chosen:
                estimate = estimates.setdefault(m.key, MetricEstimate(m.key, item.tier, model))
                estimate.evaluations += 1
                estimate.cached += m not in todo
            billable = [m for m in todo if m in chosen]
            if not billable or item.tier not in CLAUDE_TIERS:
                continue
            calls += 1
            request = build_request(item.conversation, todo, model=model, max_tokens=0, redacted=settings.redact)
            request_tokens = len(json.dumps(request)) // 4
            for m in billable:  # the call's input is shared by its metrics
                estimate = estimates[m.key]
                estimate.input_tokens += request_tokens // len(todo)
                estimate.output_tokens += OUTPUT_TOKENS_PER_METRIC
                estimate.cost_usd += tiers[item.tier].cost(request_tokens // len(todo), OUTPUT_TOKENS_PER_METRIC)
                if m.confidence_samples:  # its repeated answers: a call of its own each (cached ones counted too)
                    alone = build_request(item.conversation, [m], model=model, max_tokens=0, redacted=settings.redact)
                    alone_tokens, extra = len(json.dumps(alone)) // 4, m.confidence_samples - 1
                    calls += extra
                    estimate.input_tokens += extra * alone_tokens
                    estimate.output_tokens += extra * OUTPUT_TOKENS_PER_METRIC
                    estimate.cost_usd += extra * tiers[item.tier].cost(alone_tokens, OUTPUT_TOKENS_PER_METRIC)
    return sorted(estimates.values(), key=lambda e: e.metric_key), calls


async def _fan_out(
    conn: duckdb.DuckDBPyConnection,
    work: list[_Work],
    hour: datetime,
    settings: AiSettings,
    client: anthropic.AsyncAnthropic | None,
    tiers: dict[str, ModelPrice],
    budget: Budget,
    result: AiRunResult,
    run_id: str | None,
    batch: list[tuple[_Work, list[MetricDefinition]]] | None = None,
) -> None:
    """Answer and store every unit of work: cache first, then the free tier or Claude (or, in batch mode, a
    batch). What is answered is stored while the rest is being answered (a worker thread writes to the warehouse
    every STORE_EVERY_SECONDS; the event loop itself never touches the connection during the calls), so the
    run does not end with one long write, and a run cut short keeps what it was answered. In between, every
    request and answer is in a journal beside the warehouse, which the next run replays if this process dies."""
    semaphore = asyncio.Semaphore(settings.concurrency)  # one bound on model calls across the whole fan-out
    # Units of work are started only a little ahead of free call slots, so requests are built as they are sent
    # rather than all at once before the first call.
    gate = asyncio.Semaphore(2 * settings.concurrency)
    pacer = Pacer()
    local = LocalEvaluator()
    journal = CallJournal(warehouse_path(conn), run_id, uuid.uuid4().hex)
    claude = {
        tier: ClaudeEvaluator(
            client, tiers[tier], semaphore, budget, settings.claude, pacer, journal=journal, tier=tier
        )
        for tier in CLAUDE_TIERS
        if client is not None
    }
    cached = _cached_answers(conn, work, tiers)

    answered: list[tuple[_Work, list[Evaluation]]] = []
    calls_taken = dict.fromkeys(claude, 0)
    all_answered = asyncio.Event()

    async def one(item: _Work) -> None:
        async with gate:
            answered.append(await answer(item))

    async def store_as_answered() -> None:
        try:
            while True:
                finished = all_answered.is_set()
                chunk = answered[:]
                del answered[:]
                calls = []
                for tier, evaluator in claude.items():
                    calls += [(tier, record) for record in evaluator.calls[calls_taken[tier] :]]
                    calls_taken[tier] = len(evaluator.calls)
                if chunk or calls:
                    await asyncio.to_thread(_store, conn, chunk, calls, tiers, result, run_id, hour)
                if finished:
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(all_answered.wait(), STORE_EVERY_SECONDS)
        except BaseException:
            for task in tasks:  # a failed write stops the spending: nothing answered from here on could be kept
                task.cancel()
            raise

    async def answer(item: _Work) -> tuple[_Work, list[Evaluation]]:
        model = model_for(item.tier, tiers)
        keys = item.cache_keys(tiers)
        answers: dict[str, Evaluation] = {k: cached[key] for k, key in keys.items() if key in cached}
        conversation_id = item.conversation.conversation_id
        # a prompt that does not render for this conversation fails its own metric here, not the call or the run
        for m in item.metrics:
            problem = None if m.key in answers else prompt_problem(m, item.conversation, redacted=settings.redact)
            if problem is not None:
                error = f"ai_query_prompt {problem}"
                answers[m.key] = Evaluation(m.key, m.definition_version, conversation_id, "error", error=error)
        todo = [m for m in item.metrics if m.key not in answers]

        def unanswered(status: Status, **fields: Any) -> None:
            for m in todo:
                answers[m.key] = Evaluation(m.key, m.definition_version, conversation_id, status, **fields)

        if todo and not item.conversation.transcript and not item.conversation.summary:
            unanswered("not_applicable", rationale="the conversation has no transcript or summary", model=model)
        elif todo:
            if batch is not None and item.tier in CLAUDE_TIERS:
                # repeated answers are asked now, not batched: a value is the agreement of all of them
                batched = [m for m in todo if not m.confidence_samples]
                if batched:
                    batch.append((item, batched))
                for m in batched:
                    answers[m.key] = Evaluation(
                        m.key, m.definition_version, conversation_id, "skipped", error="batched"
                    )
                todo = [m for m in todo if m.confidence_samples]
            if item.tier == "free":
                for evaluation in await local.evaluate(item.conversation, todo):
                    answers[evaluation.metric_key] = evaluation
            elif item.tier not in claude:
                unanswered("skipped", error="ANTHROPIC_API_KEY is not set")
                result.skipped_metrics.update(m.key for m in todo)
            elif todo:
                sample_keys = item.sample_keys(tiers)
                prior = {
                    m.key: {n: cached[key] for n, key in sample_keys[m.key].items() if key in cached}
                    for m in todo
                    if m.key in sample_keys
                }
                for evaluation in await claude[item.tier].evaluate(item.conversation, todo, prior):
                    answers[evaluation.metric_key] = evaluation
        return item, [answers[m.key] for m in item.metrics]

    tasks = [asyncio.create_task(one(item)) for item in work]
    storing = asyncio.create_task(store_as_answered())
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        # one unit failed (or the run was interrupted): stop the others, then store all that was answered
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    finally:
        all_answered.set()
        try:
            await storing  # the last answers and calls; a failed write surfaces here (and the journal stays)
        finally:
            journal.close()
        journal.discard()


def model_for(tier: str, tiers: dict[str, ModelPrice]) -> str:
    return tiers[tier].model if tier in CLAUDE_TIERS else LOCAL_MODEL


def _cached_answers(
    conn: duckdb.DuckDBPyConnection, work: list[_Work], tiers: dict[str, ModelPrice]
) -> dict[str, Evaluation]:
    keys: list[str] = []
    for item in work:
        keys += item.cache_keys(tiers).values()
        keys += [key for samples in item.sample_keys(tiers).values() for key in samples.values()]
    return cached_evaluations(conn, keys)


def _store(
    conn: duckdb.DuckDBPyConnection,
    evaluations: list[tuple[_Work, list[Evaluation]]],
    calls: list[tuple[str, CallRecord]],
    tiers: dict[str, ModelPrice],
    result: AiRunResult,
    run_id: str | None,
    hour: datetime | None = None,
) -> None:
    """Store answers and calls; the values count as spent by the runs of ``hour`` (the partition they were
    evaluated for; none for collected batches)."""
    now = utc_now()
    value_rows, cache_rows = [], []
    for item, answers in evaluations:
        conversation = item.conversation
        keys = item.cache_keys(tiers)
        for metric, evaluation in zip(item.metrics, answers, strict=True):
            pair = (conversation.workspace_id, metric.key, conversation.conversation_id)
            if evaluation.status == "skipped":
                if evaluation.error == "batched":
                    result.batched_pairs.add(pair)
                elif evaluation.error and "budget" in evaluation.error:
                    result.skipped_budget_pairs.add(pair)
                else:
                    result.skipped_no_key_pairs.add(pair)
                continue
            if evaluation.status == "error":
                result.failures += 1
                result.errors.append(f"{metric.key} / {conversation.conversation_id}: {evaluation.error}")
                continue
            apply_min_confidence(metric, evaluation)  # here, not in the evaluators: cached answers are judged too
            result.evaluated += 1
            result.evaluated_pairs.add(pair)
            result.cache_hits += evaluation.cached
            result.not_applicable += evaluation.status == "not_applicable"
            result.out_of_range += evaluation.status == "out_of_range"
            result.low_confidence += evaluation.status == "low_confidence"
            result.cost_by_metric[metric.key] = result.cost_by_metric.get(metric.key, 0.0) + evaluation.cost_usd
            value_rows.append(value_row(conversation, metric, evaluation, now))
            if not evaluation.cached:
                cache_rows.append(cache_row(keys[metric.key], metric, evaluation, now))
    call_rows = []
    for tier, record in calls:
        result.calls += 1
        result.input_tokens += record.input_tokens
        result.cache_creation_input_tokens += record.cache_creation_input_tokens
        result.cache_read_input_tokens += record.cache_read_input_tokens
        result.output_tokens += record.output_tokens
        result.cost_usd += record.cost_usd
        if record.outcome != "budget_exhausted":
            result.latencies_ms.append(record.latency_ms)
        call_rows.append(call_row(record, tier, run_id, now))
    write_evaluations(conn, value_rows, cache_rows, call_rows, hour)


async def _submit_batches(
    conn: duckdb.DuckDBPyConnection,
    client: anthropic.AsyncAnthropic,
    batch: list[tuple[_Work, list[MetricDefinition]]],
    tiers: dict[str, ModelPrice],
    settings: AiSettings,
    result: AiRunResult,
    run_id: str | None,
) -> None:
    """Submit the run's Claude work as one Message Batch per tier and remember every request."""
    now = utc_now()
    for tier in CLAUDE_TIERS:
        items = [(item, metrics) for item, metrics in batch if item.tier == tier]
        if not items:
            continue
        price = tiers[tier]
        requests = [
            {
                "custom_id": f"r{i}",
                "params": build_request(
                    item.conversation,
                    metrics,
                    model=price.model,
                    max_tokens=settings.claude.max_tokens * max(1, len(metrics) // 4 + 1),
                    redacted=settings.redact,
                ),
            }
            for i, (item, metrics) in enumerate(items)
        ]
        submitted = await client.messages.batches.create(requests=requests)  # type: ignore[arg-type]
        result.batches_submitted.append(submitted.id)
        conn.execute(
            "INSERT INTO ops.llm_batches VALUES (?, ?, ?, ?, ?, 'in_progress', ?, NULL)",
            [submitted.id, run_id, price.model, tier, len(requests), now],
        )
        rows = [
            {
                "batch_id": submitted.id,
                "custom_id": f"r{i}",
                "workspace_id": item.conversation.workspace_id,
                "conversation_id": item.conversation.conversation_id,
                "metric_keys": [m.key for m in metrics],
                "definition_versions": [m.definition_version for m in metrics],
                "collected": False,
            }
            for i, (item, metrics) in enumerate(items)
        ]
        register_frame(conn, "batch_rows", pl.DataFrame(rows, schema=_BATCH_REQUEST_SCHEMA))
        conn.execute("INSERT INTO ops.llm_batch_requests BY NAME SELECT * FROM batch_rows")


_BATCH_REQUEST_SCHEMA: dict[str, PolarsType] = {
    "batch_id": pl.String,
    "custom_id": pl.String,
    "workspace_id": pl.String,
    "conversation_id": pl.String,
    "metric_keys": pl.List(pl.String),
    "definition_versions": pl.List(pl.String),
    "collected": pl.Boolean,
}


async def _collect_batches(
    conn: duckdb.DuckDBPyConnection,
    client: anthropic.AsyncAnthropic,
    catalog: MetricCatalog,
    tiers: dict[str, ModelPrice],
    settings: AiSettings,
    result: AiRunResult,
    run_id: str | None,
) -> None:
    """Store the answers of every submitted batch that has ended, at the batch price; a request that failed,
    or whose metric changed version meanwhile, becomes pending again."""
    open_batches = conn.execute(
        "SELECT batch_id, model_tier FROM ops.llm_batches WHERE status <> 'collected' ORDER BY submitted_at"
    ).fetchall()
    for batch_id, tier in open_batches:
        status = await client.messages.batches.retrieve(batch_id)
        if status.processing_status != "ended":
            continue
        requests = {
            r["custom_id"]: r
            for r in conn.execute("SELECT * FROM ops.llm_batch_requests WHERE batch_id = ?", [batch_id])
            .pl()
            .iter_rows(named=True)
        }
        conversations = load_conversations(conn, [(r["workspace_id"], r["conversation_id"]) for r in requests.values()])
        evaluations: list[tuple[_Work, list[Evaluation]]] = []
        calls: list[tuple[str, CallRecord]] = []
        async for entry in await client.messages.batches.results(batch_id):
            request = requests.get(entry.custom_id)
            if request is None:
                continue
            item = _batch_work(conversations, catalog, request, tier)
            if item is None:
                continue
            record = CallRecord(
                request["workspace_id"],
                request["conversation_id"],
                list(request["metric_keys"]),
                tiers[tier].model,
                batch_id=batch_id,
                attempts=1,
                call_id=f"{batch_id}/{entry.custom_id}",  # collected again after a crash, it is stored once
            )
            answers = None
            if entry.result.type == "succeeded":
                bill(record, entry.result.message.usage, tiers[tier], batch=True)
                answers, problem = read_answer(entry.result.message)
                record.outcome, record.error = ("ok", None) if answers is not None else ("error", problem)
            else:
                record.outcome, record.error = "error", f"batch request {entry.result.type}"
            calls.append((tier, record))
            evaluations.append(
                (item, evaluations_from_answers(item.conversation, item.metrics, answers, record, settings.redact))
            )
        _store(conn, evaluations, calls, tiers, result, run_id)
        conn.execute(
            "UPDATE ops.llm_batches SET status = 'collected', collected_at = ? WHERE batch_id = ?",
            [utc_now(), batch_id],
        )
        conn.execute("UPDATE ops.llm_batch_requests SET collected = true WHERE batch_id = ?", [batch_id])
        result.batches_collected.append(batch_id)


def _batch_work(
    conversations: dict[tuple[str, str], Conversation], catalog: MetricCatalog, request: dict[str, Any], tier: str
) -> _Work | None:
    """The conversation and the still-current metrics of one batch request."""
    conversation = conversations.get((request["workspace_id"], request["conversation_id"]))
    if conversation is None:
        return None
    current = {d.definition.key: d.definition for d in catalog.definitions_for(request["workspace_id"])}
    metrics = [
        current[key]
        for key, version in zip(request["metric_keys"], request["definition_versions"], strict=True)
        if key in current and current[key].definition_version == version
    ]
    return _Work(conversation, tier, metrics) if metrics else None
