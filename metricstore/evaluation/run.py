"""The hourly AI evaluation: per hour of the run's window, the pending (metric, conversation) pairs
(:mod:`metricstore.evaluation.pending`) answered from the cache or by a fan-out over the evaluators, typed
values and every call stored as they come; Claude-tier work sent and collected as Message Batches on request.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import anthropic
import duckdb
import polars as pl

from metricstore.catalog_loader import MetricCatalog
from metricstore.definitions import MetricDefinition
from metricstore.evaluation.answers import apply_min_confidence
from metricstore.evaluation.base import Conversation, Evaluation, Status
from metricstore.evaluation.claude import (
    Budget,
    CallRecord,
    ClaudeEvaluator,
    Pacer,
    bill,
    evaluations_from_answers,
    read_answer,
)
from metricstore.evaluation.journal import CallJournal, replay_journals, warehouse_path
from metricstore.evaluation.local import LocalEvaluator
from metricstore.evaluation.models import CLAUDE_TIERS, ModelPrice, model_tiers
from metricstore.evaluation.pending import (
    AiSettings,
    Work,
    cached_answers,
    load_conversations,
    model_for,
    pending_work,
)
from metricstore.evaluation.prompts import build_request
from metricstore.evaluation.store import (
    PolarsType,
    cache_row,
    call_row,
    value_row,
    write_evaluations,
)
from metricstore.prompt_check import prompt_problem
from metricstore.warehouse import prepare, register_frame
from metricstore.windows import HOUR, TimeWindow, utc_now

STORE_EVERY_SECONDS = 1.0  # how often the fan-out writes what has been answered so far


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
    batch: list[tuple[Work, list[MetricDefinition]]] | None = [] if settings.batch and client else None
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


async def _fan_out(
    conn: duckdb.DuckDBPyConnection,
    work: list[Work],
    hour: datetime,
    settings: AiSettings,
    client: anthropic.AsyncAnthropic | None,
    tiers: dict[str, ModelPrice],
    budget: Budget,
    result: AiRunResult,
    run_id: str | None,
    batch: list[tuple[Work, list[MetricDefinition]]] | None = None,
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
    cached = cached_answers(conn, work, tiers)

    answered: list[tuple[Work, list[Evaluation]]] = []
    calls_taken = dict.fromkeys(claude, 0)
    all_answered = asyncio.Event()

    async def one(item: Work) -> None:
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

    async def answer(item: Work) -> tuple[Work, list[Evaluation]]:
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


def _store(
    conn: duckdb.DuckDBPyConnection,
    evaluations: list[tuple[Work, list[Evaluation]]],
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
    batch: list[tuple[Work, list[MetricDefinition]]],
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
        evaluations: list[tuple[Work, list[Evaluation]]] = []
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
) -> Work | None:
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
    return Work(conversation, tier, metrics) if metrics else None
