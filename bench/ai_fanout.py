"""The Claude tiers' fan-out, tokens and cost, against the local fake Claude server (python -m bench ai_fanout).

A temporary warehouse holds the conversations of ``bench/generate.py`` (24 hours, 10–60 turns each) and a catalog
of four ``fast``-tier metrics of mixed types (numerical, boolean, categorical, list); one model call per
conversation answers all four. The real ``anthropic`` SDK (``AsyncAnthropic``, SDK retries off) talks to
:class:`metricstore.testing.FakeClaude`, which bills ceil(characters / 4) tokens and caches prompt prefixes of at
least 1,024 tokens like the real API. For the timed runs the fake runs in a child process, so that the CPU it
spends answering is not charged to the client (the real API's is not either).

1. **Fan-out throughput**: server latency ``L``, ``AiSettings(concurrency=C)``, no rate limit: model calls per
   second over the ``evaluate_window`` call against the ceiling ``C / L`` (target ≥ 90 %), with the time before
   the first HTTP call, until the first answer, in the steady state and after the last answer shown apart. Then
   the same under a server rate limit below ``C / L``: throughput against that limit, the 429s the server
   served, and the failures (target: none).
2. **Billed input tokens** (input + cache writes + cache reads, from ``ops.llm_calls``) against the lower bound
   (each conversation once plus each metric's question once, by the same token rule; target ≤ 1.3×), and the
   alternative design measured the same way: one call per (metric, conversation), the conversation in a cached
   prefix (the first call writes it, the other three are sent once it is cached).
3. **A second run with no new data** makes no model call.
4. **Batch mode**: the same work submitted as a Message Batch and collected by a later run, its cost against the
   real-time run's (expected 0.5× at the same evaluations).

Everything is deterministic (fixed seeds, a jitter-free fake) except the times and what follows from them (the
rate-limited run's 429s, retries and failures).
"""

from __future__ import annotations

import asyncio
import json
import math
import multiprocessing
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import anthropic
import duckdb
import yaml

from bench.generate import generate_landing
from metricstore.catalog import write_catalog_table
from metricstore.catalog_loader import MetricCatalog, load_catalog
from metricstore.definitions import MetricDefinition
from metricstore.evaluation.base import Conversation
from metricstore.evaluation.claude import read_answer
from metricstore.evaluation.models import ModelPrice, model_tiers
from metricstore.evaluation.pending import AiSettings, pending_work
from metricstore.evaluation.prompts import SYSTEM_PROMPT, build_request, conversation_block, metric_question
from metricstore.evaluation.run import AiRunResult, evaluate_window
from metricstore.ingest import ingest_window
from metricstore.testing import FakeClaude
from metricstore.testing.fake_claude import tokens_for_chars
from metricstore.warehouse import connect
from metricstore.windows import TimeWindow

WORKSPACE = "ws_bench"
END = datetime(2026, 11, 20, 12)  # the run evaluates 11:00–12:00; its 24-hour lookback holds every conversation
HOURS = 24
WINDOW = TimeWindow(END - timedelta(hours=1), END)
SEED = 42
TIER = "fast"
LATENCY_SECONDS = 0.25
CONCURRENCY = 32
RATE_LIMIT_RPS = 64.0  # half the ceiling C / L = 128
MIN_CACHE_TOKENS = 1024
UNCAPPED = 1_000_000
TARGETS = {"throughput_vs_ceiling": 0.9, "billed_vs_lower_bound": 1.3, "batch_cost_ratio": 0.5}

METRICS: list[dict[str, Any]] = [
    {
        "key": "satisfaction",
        "name": "Customer satisfaction",
        "description": "How satisfied the customer was with the conversation.",
        "metric_type": "numerical",
        "extraction_mode": "ai_query",
        "model_tier": TIER,
        "ai_query_prompt": "Rate the customer's satisfaction with {{ transcript }} from 1 (not at all) to 10 (fully).",
        "aggregation": "avg",
        "valid_range_min": 1,
        "valid_range_max": 10,
    },
    {
        "key": "callback_asked",
        "name": "Callback asked",
        "metric_type": "boolean",
        "extraction_mode": "ai_query",
        "model_tier": TIER,
        "ai_query_prompt": "Did the customer ask to be called back?",
        "aggregation": "rate",
    },
    {
        "key": "contact_reason",
        "name": "Contact reason",
        "description": "Why the customer got in touch.",
        "metric_type": "categorical",
        "extraction_mode": "ai_classify",
        "model_tier": TIER,
        "aggregation": "count_distinct",
        "ai_labels": [
            {"name": "billing", "description": "Charges, payments, refunds, balances.", "examples": ["pay my bill"]},
            {"name": "booking", "description": "Booking or changing flights, seats, orders.", "examples": ["book"]},
            {"name": "technical_issue", "description": "Something does not work.", "examples": ["it crashes"]},
            {"name": "information", "description": "Questions about products, plans or status."},
        ],
    },
    {
        "key": "topics",
        "name": "Topics discussed",
        "metric_type": "list",
        "extraction_mode": "ai_classify",
        "model_tier": TIER,
        "aggregation": "count",
        "ai_labels": ["account", "payment", "delivery", "cancellation", "complaint", "upgrade"],
    },
]


@dataclass(frozen=True)
class Sizes:
    conversations_per_hour: int
    rate_limited_conversations: int  # the rate-limited run evaluates the most recent N (cap_per_metric)


def sizes(quick: bool) -> Sizes:
    if quick:
        return Sizes(conversations_per_hour=9, rate_limited_conversations=200)  # 216 calls
    return Sizes(conversations_per_hour=84, rate_limited_conversations=1000)  # 2,016 calls


# --- setup ------------------------------------------------------------------------------------------------------------


def write_catalog(root: Path) -> MetricCatalog:
    (root / "builtin").mkdir(parents=True)
    (root / "workspaces" / WORKSPACE).mkdir(parents=True)
    (root / "workspaces" / WORKSPACE / "ai.yaml").write_text(yaml.safe_dump({"metrics": METRICS}), encoding="utf-8")
    return load_catalog(root)


def build_warehouse(tmp: Path, quick: bool) -> tuple[Path, MetricCatalog, dict[str, Any]]:
    """Landing data, catalog and an ingested warehouse; each scenario starts from a copy of it."""
    started = time.perf_counter()
    catalog = write_catalog(tmp / "metric_defs")
    landing = tmp / "landing"
    per_hour = sizes(quick).conversations_per_hour
    generated = generate_landing(
        landing, conversations_per_hour=per_hour, hours=HOURS, end=END, seed=SEED, side_events=0
    )
    path = tmp / "base.duckdb"
    conn = connect(path)
    try:
        write_catalog_table(conn, catalog)
        ingest_window(conn, landing, TimeWindow(END - timedelta(hours=HOURS), END))
    finally:
        conn.close()
    return path, catalog, {"conversations": generated.conversations, "seconds": round(time.perf_counter() - started, 2)}


def copy_of(base: Path, name: str) -> duckdb.DuckDBPyConnection:
    target = base.with_name(f"{name}.duckdb")
    shutil.copyfile(base, target)
    return connect(target)


# --- the fake server in its own process, an instrumented client -------------------------------------------------------


def _serve(pipe: Connection, options: dict[str, Any]) -> None:
    with FakeClaude(**options) as server:
        pipe.send(server.base_url)
        while pipe.recv() == "stats":
            pipe.send(
                {
                    "message_requests": len(server.message_requests),
                    "status_counts": server.status_counts,
                    "rate_limited": server.rate_limited_count,
                    "peak_concurrency": server.peak_concurrency,
                    "connections_opened": server.connections_opened,
                }
            )


class RemoteFake:
    """A FakeClaude in a child process: the client process's CPU time is then the product's own."""

    def __init__(self, **options: Any) -> None:
        self.options = options
        self.base_url = ""

    def __enter__(self) -> Self:
        context = multiprocessing.get_context("spawn")
        self._pipe, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child, self.options), daemon=True)
        self._process.start()
        self.base_url = self._receive()
        return self

    def _receive(self) -> Any:
        if not self._pipe.poll(60):
            raise RuntimeError("the fake Claude server process did not answer")
        return self._pipe.recv()

    def stats(self) -> dict[str, Any]:
        self._pipe.send("stats")
        stats: dict[str, Any] = self._receive()
        return stats

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._pipe.send("stop")
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.terminate()


@dataclass
class HttpTimes:
    """When the SDK's `messages.create` calls started and ended (perf_counter seconds), every attempt."""

    starts: list[float] = field(default_factory=list)
    ends: list[float] = field(default_factory=list)
    durations: list[float] = field(default_factory=list)


def instrumented(base_url: str, times: HttpTimes) -> Callable[[], anthropic.AsyncAnthropic]:
    """A client factory whose clients record every `messages.create` call's start and end."""

    def factory() -> anthropic.AsyncAnthropic:
        client = anthropic.AsyncAnthropic(base_url=base_url, api_key="bench", max_retries=0)
        messages = client.messages
        create = messages.create

        async def timed(**params: Any) -> Any:
            started = time.perf_counter()
            times.starts.append(started)
            try:
                return await create(**params)
            finally:
                ended = time.perf_counter()
                times.ends.append(ended)
                times.durations.append(ended - started)

        messages.create = timed  # type: ignore[method-assign]
        return client

    return factory


def plain_client(base_url: str) -> Callable[[], anthropic.AsyncAnthropic]:
    return lambda: anthropic.AsyncAnthropic(base_url=base_url, api_key="bench", max_retries=0)


# --- figures from the warehouse ---------------------------------------------------------------------------------------

_TOTALS_SQL = (
    "SELECT count(*), coalesce(sum(input_tokens), 0), coalesce(sum(cache_creation_input_tokens), 0), "
    "coalesce(sum(cache_read_input_tokens), 0), coalesce(sum(output_tokens), 0), coalesce(sum(cost_usd), 0), "
    "coalesce(sum(attempts), 0), count(*) FILTER (WHERE outcome <> 'ok') FROM ops.llm_calls WHERE mode = ?"
)


def call_totals(conn: duckdb.DuckDBPyConnection, mode: str) -> dict[str, Any]:
    """Calls, tokens and dollars of ``ops.llm_calls`` in ``mode`` ('realtime' or 'batch')."""
    row = conn.execute(_TOTALS_SQL, [mode]).fetchone()
    assert row is not None
    calls, tokens_in, created, read, tokens_out, cost, attempts, not_ok = row
    return {
        "calls": calls,
        "input_tokens": tokens_in,
        "cache_creation_input_tokens": created,
        "cache_read_input_tokens": read,
        "billed_input_tokens": tokens_in + created + read,
        "output_tokens": tokens_out,
        "cost_usd": round(cost, 6),
        "attempts": attempts,
        "calls_not_ok": not_ok,
    }


def input_dollars(price: ModelPrice, tokens_in: int, created: int, read: int) -> float:
    return round(price.cost(tokens_in, 0, created, read), 6)


def lower_bound(conversations: list[Conversation], metrics: list[MetricDefinition], redacted: bool) -> int:
    """Each conversation once plus each metric's question once, by the fake's token rule."""
    total = 0
    for c in conversations:
        total += tokens_for_chars(len(conversation_block(c, redacted=redacted)))
        total += sum(tokens_for_chars(len(metric_question(m, c, redacted=redacted))) for m in metrics)
    return total


def run_summary(result: AiRunResult) -> dict[str, Any]:
    return {
        "pairs_pending": result.pairs_pending,
        "evaluated": result.evaluated,
        "failures": result.failures,
        "calls": result.calls,
        "cost_usd": round(result.cost_usd, 6),
    }


# --- 1 + 3: the real-time fan-out, then a second run ------------------------------------------------------------------


def fan_out(base: Path, catalog: MetricCatalog) -> dict[str, Any]:
    conn = copy_of(base, "realtime")
    settings = AiSettings(concurrency=CONCURRENCY, cap_per_metric=UNCAPPED)
    times = HttpTimes()
    try:
        with RemoteFake(latency_seconds=LATENCY_SECONDS, min_cache_tokens=MIN_CACHE_TOKENS) as server:
            cpu = time.process_time()
            started = time.perf_counter()
            result = evaluate_window(
                conn,
                catalog,
                WINDOW,
                settings=settings,
                client_factory=instrumented(server.base_url, times),
                run_id="run-1",
            )
            ended = time.perf_counter()
            cpu = time.process_time() - cpu
            stats = server.stats()
            figures = _fan_out_figures(result, times, started, ended, cpu)
            figures["server"] = {k: v for k, v in stats.items() if k != "status_counts"}
            again_started = time.perf_counter()
            again = evaluate_window(
                conn, catalog, WINDOW, settings=settings, client_factory=plain_client(server.base_url), run_id="run-2"
            )
            figures["second_run"] = {
                **run_summary(again),
                "seconds": round(time.perf_counter() - again_started, 3),
                "server_message_requests": server.stats()["message_requests"] - stats["message_requests"],
            }
        figures["tokens"] = call_totals(conn, "realtime")
    finally:
        conn.close()
    return figures


def _fan_out_figures(result: AiRunResult, times: HttpTimes, started: float, ended: float, cpu: float) -> dict[str, Any]:
    calls, seconds = result.calls, ended - started
    first_start, first_end, last_end = min(times.starts), min(times.ends), max(times.ends)
    ceiling = CONCURRENCY / LATENCY_SECONDS
    durations = sorted(times.durations)
    return {
        "latency_seconds": LATENCY_SECONDS,
        "concurrency": CONCURRENCY,
        "run": run_summary(result),
        "seconds": round(seconds, 3),
        "calls_per_second": round(calls / seconds, 2),
        "ceiling_calls_per_second": ceiling,
        "throughput_vs_ceiling": round(calls / seconds / ceiling, 4),
        # the best any client can do: full waves of C calls, each taking L
        "ideal_seconds": math.ceil(calls / CONCURRENCY) * LATENCY_SECONDS,
        "phases": {
            "before_first_call_seconds": round(first_start - started, 3),
            "first_call_to_first_answer_seconds": round(first_end - first_start, 3),
            "first_to_last_answer_seconds": round(last_end - first_end, 3),
            "after_last_answer_seconds": round(ended - last_end, 3),
            "outside_http_seconds": round(seconds - (last_end - first_start), 3),
            "http_first_to_last_seconds": round(last_end - first_start, 3),
            "http_calls_per_second": round(calls / (last_end - first_start), 2),
            "steady_calls_per_second": round((calls - 1) / (last_end - first_end), 2),
            "steady_vs_ceiling": round((calls - 1) / (last_end - first_end) / ceiling, 4),
        },
        "http_call_seconds": {
            "p50": round(durations[len(durations) // 2], 4),
            "p99": round(durations[int(len(durations) * 0.99)], 4),
            "max": round(durations[-1], 4),
            "mean": round(sum(durations) / len(durations), 4),
        },
        # ops.llm_calls.latency_ms (AiRunResult.latencies_ms): measured from before the wait for a slot
        "recorded_latency_ms": {"p50": round(result.latency_ms(0.5), 1), "p99": round(result.latency_ms(0.99), 1)},
        "client_cpu": {
            "seconds": round(cpu, 2),
            "ms_per_call": round(cpu / calls * 1000, 2),
            "share_of_one_core": round(cpu / seconds, 3),
        },
    }


def one_call_every_prefix_cacheable(base: Path, catalog: MetricCatalog) -> dict[str, Any]:
    """The product's run again where every marked prefix is cacheable (``min_cache_tokens=1``): what the
    conversation block's ``cache_control`` costs when nothing reads the cache afterwards."""
    conn = copy_of(base, "cacheable")
    settings = AiSettings(concurrency=CONCURRENCY, cap_per_metric=UNCAPPED)
    try:
        with FakeClaude(latency_seconds=0.0, min_cache_tokens=1) as server:  # tokens do not depend on latency
            evaluate_window(conn, catalog, WINDOW, settings=settings, client_factory=plain_client(server.base_url))
        return call_totals(conn, "realtime")
    finally:
        conn.close()


# --- 1b: under a rate limit -------------------------------------------------------------------------------------------


def rate_limited(base: Path, catalog: MetricCatalog, quick: bool) -> dict[str, Any]:
    conn = copy_of(base, "rate_limited")
    settings = AiSettings(concurrency=CONCURRENCY, cap_per_metric=sizes(quick).rate_limited_conversations)
    burst = math.ceil(RATE_LIMIT_RPS)  # the fake's default bucket capacity
    try:
        with RemoteFake(
            latency_seconds=LATENCY_SECONDS, requests_per_second=RATE_LIMIT_RPS, min_cache_tokens=MIN_CACHE_TOKENS
        ) as server:
            started = time.perf_counter()
            result = evaluate_window(
                conn, catalog, WINDOW, settings=settings, client_factory=plain_client(server.base_url), run_id="rl"
            )
            seconds = time.perf_counter() - started
            stats = server.stats()
        totals = call_totals(conn, "realtime")
    finally:
        conn.close()
    answered = stats["status_counts"].get(200, 0)
    return {
        "requests_per_second_limit": RATE_LIMIT_RPS,
        "burst": burst,
        "latency_seconds": LATENCY_SECONDS,
        "concurrency": CONCURRENCY,
        "run": run_summary(result),
        "seconds": round(seconds, 3),
        "answered_per_second": round(answered / seconds, 2),
        "vs_limit": round(answered / seconds / RATE_LIMIT_RPS, 4),
        # the server lets `burst` through at once, then `rps` a second: the most it can answer in the run's time
        "vs_burst_adjusted_ceiling": round(answered / (burst + RATE_LIMIT_RPS * seconds), 4),
        "server": {
            "message_requests": stats["message_requests"],
            "answered_200": answered,
            "rate_limited_429": stats["rate_limited"],
            "peak_concurrency": stats["peak_concurrency"],
        },
        "calls": totals["calls"],
        "attempts": totals["attempts"],
        "retries": totals["attempts"] - totals["calls"],
        "calls_failed": totals["calls_not_ok"],
        "max_attempts": settings.claude.max_attempts,
        "errors_sample": sorted({e.split(": ", 1)[1][:100] for e in result.errors})[:2],
    }


# --- 2b: the alternative design, one call per (metric, conversation) --------------------------------------------------


async def _per_metric_calls(
    base_url: str,
    conversations: list[Conversation],
    metrics: list[MetricDefinition],
    price: ModelPrice,
    settings: AiSettings,
) -> dict[str, int]:
    client = anthropic.AsyncAnthropic(base_url=base_url, api_key="bench", max_retries=0)
    semaphore = asyncio.Semaphore(settings.concurrency)
    totals = dict.fromkeys(
        ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "output_tokens", "answered_pairs"), 0
    )

    async def call(conversation: Conversation, metric: MetricDefinition) -> None:
        params = build_request(
            conversation,
            [metric],
            model=price.model,
            max_tokens=settings.claude.max_tokens,
            redacted=settings.redact,
            cache_conversation=True,
        )
        async with semaphore:
            message = await client.messages.create(**params)
        for key in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "output_tokens"):
            totals[key] += getattr(message.usage, key, None) or 0
        answers, _ = read_answer(message)
        totals["answered_pairs"] += answers is not None and metric.key in answers

    async def one(conversation: Conversation) -> None:
        # the first call writes the conversation's prefix to the cache; the others, sent once it is there, read it
        await call(conversation, metrics[0])
        await asyncio.gather(*(call(conversation, m) for m in metrics[1:]))

    try:
        await asyncio.gather(*(one(c) for c in conversations))
    finally:
        await client.close()
    return totals


def per_metric_design(
    conversations: list[Conversation],
    metrics: list[MetricDefinition],
    price: ModelPrice,
    settings: AiSettings,
    min_cache_tokens: int,
) -> dict[str, Any]:
    # Tokens do not depend on latency: this design runs without it, to keep the benchmark short.
    with FakeClaude(latency_seconds=0.0, min_cache_tokens=min_cache_tokens) as server:
        started = time.perf_counter()
        usage = asyncio.run(_per_metric_calls(server.base_url, conversations, metrics, price, settings))
        seconds = time.perf_counter() - started
        calls = len(server.message_requests)
    tokens_in, created, read = (
        usage["input_tokens"],
        usage["cache_creation_input_tokens"],
        usage["cache_read_input_tokens"],
    )
    return {
        "min_cache_tokens": min_cache_tokens,
        "calls": calls,
        **usage,
        "billed_input_tokens": tokens_in + created + read,
        "input_cost_usd": input_dollars(price, tokens_in, created, read),
        "cost_usd": round(price.cost(tokens_in, usage["output_tokens"], created, read), 6),
        "seconds": round(seconds, 2),
    }


# --- 4: batch mode ----------------------------------------------------------------------------------------------------


def batch_mode(base: Path, catalog: MetricCatalog) -> dict[str, Any]:
    conn = copy_of(base, "batch")
    settings = AiSettings(concurrency=CONCURRENCY, cap_per_metric=UNCAPPED, batch=True)
    try:
        with FakeClaude(batch_polls_until_ended=1, min_cache_tokens=MIN_CACHE_TOKENS) as server:
            client = plain_client(server.base_url)
            started = time.perf_counter()
            submit = evaluate_window(conn, catalog, WINDOW, settings=settings, client_factory=client)
            submitted = time.perf_counter() - started
            started = time.perf_counter()
            collect = evaluate_window(conn, catalog, WINDOW, settings=settings, client_factory=client)
            collected = time.perf_counter() - started
            realtime_requests = len(server.message_requests)
        return {
            "submit_run": {
                **run_summary(submit),
                "batches_submitted": len(submit.batches_submitted),
                "batched_pairs": len(submit.batched_pairs),
                "seconds": round(submitted, 2),
            },
            "collect_run": {
                **run_summary(collect),
                "batches_collected": len(collect.batches_collected),
                "batches_submitted": len(collect.batches_submitted),
                "seconds": round(collected, 2),
            },
            "server_realtime_message_requests": realtime_requests,
            "tokens": call_totals(conn, "batch"),
        }
    finally:
        conn.close()


# --- the benchmark ----------------------------------------------------------------------------------------------------


def run(quick: bool = False) -> dict[str, Any]:
    started = time.perf_counter()
    price = model_tiers()[TIER]
    settings = AiSettings(concurrency=CONCURRENCY, cap_per_metric=UNCAPPED)
    with tempfile.TemporaryDirectory(prefix="bench_ai_fanout_") as tmp_name:
        base, catalog, setup = build_warehouse(Path(tmp_name), quick)
        conn = connect(base)
        try:
            work = pending_work(conn, catalog, END, settings)
        finally:
            conn.close()
        conversations = [item.conversation for item in work]
        metrics = [d.definition for d in catalog.definitions_for(WORKSPACE) if d.definition.is_ai]
        setup["pending_pairs"] = sum(len(item.metrics) for item in work)
        realtime = fan_out(base, catalog)
        cacheable = one_call_every_prefix_cacheable(base, catalog)
        limited = rate_limited(base, catalog, quick)
        per_metric = per_metric_design(conversations, metrics, price, settings, MIN_CACHE_TOKENS)
        per_metric_cached = per_metric_design(conversations, metrics, price, settings, 1)
        batch = batch_mode(base, catalog)

    bound = lower_bound(conversations, metrics, settings.redact)
    tokens = realtime.pop("tokens")
    second = realtime.pop("second_run")
    evaluations = realtime["run"]["evaluated"]
    one_call = {
        "calls": tokens["calls"],
        "evaluations": evaluations,
        **{k: tokens[k] for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")},
        "billed_input_tokens": tokens["billed_input_tokens"],
        "billed_input_tokens_per_evaluation": round(tokens["billed_input_tokens"] / evaluations, 1),
        "vs_lower_bound": round(tokens["billed_input_tokens"] / bound, 4),
        "input_cost_usd": input_dollars(
            price, tokens["input_tokens"], tokens["cache_creation_input_tokens"], tokens["cache_read_input_tokens"]
        ),
        "output_tokens": tokens["output_tokens"],
        "cost_usd": tokens["cost_usd"],
    }
    alternatives = {
        "one_call_per_conversation_every_prefix_cacheable": {
            **cacheable,
            "min_cache_tokens": 1,
            "evaluations": evaluations,
            "billed_input_tokens_per_evaluation": round(cacheable["billed_input_tokens"] / evaluations, 1),
            "vs_lower_bound": round(cacheable["billed_input_tokens"] / bound, 4),
            "input_cost_usd": input_dollars(
                price,
                cacheable["input_tokens"],
                cacheable["cache_creation_input_tokens"],
                cacheable["cache_read_input_tokens"],
            ),
            "cost_vs_one_call_per_conversation": round(cacheable["cost_usd"] / one_call["cost_usd"], 4),
        }
    }
    for name, figures in (
        ("one_call_per_metric", per_metric),
        ("one_call_per_metric_every_prefix_cached", per_metric_cached),
    ):
        alternatives[name] = {
            **figures,
            "evaluations": figures["answered_pairs"],
            "billed_input_tokens_per_evaluation": round(
                figures["billed_input_tokens"] / max(1, figures["answered_pairs"]), 1
            ),
            "vs_lower_bound": round(figures["billed_input_tokens"] / bound, 4),
            "cost_vs_one_call_per_conversation": round(figures["cost_usd"] / one_call["cost_usd"], 4),
        }
    cheapest = min([("one_call_per_conversation", one_call), *alternatives.items()], key=lambda kv: kv[1]["cost_usd"])
    batch["cost_vs_realtime"] = round(batch["tokens"]["cost_usd"] / tokens["cost_usd"], 4)
    batch["realtime_cost_usd"] = tokens["cost_usd"]
    batch["realtime_evaluations"] = evaluations
    return {
        "quick": quick,
        "model": price.model,
        "price_per_million": {
            "input": price.input,
            "output": price.output,
            "cache_write": price.cache_write,
            "cache_read": price.cache_read,
        },
        "setup": setup,
        "fan_out": realtime,
        "rate_limited": limited,
        "input_tokens": {
            "conversations": len(conversations),
            "metrics": len(metrics),
            "lower_bound_input_tokens": bound,
            "lower_bound_input_cost_usd": input_dollars(price, bound, 0, 0),
            "system_prompt_tokens_per_call": tokens_for_chars(len(SYSTEM_PROMPT)),
            "one_call_per_conversation": one_call,
            **alternatives,
            "cheapest": cheapest[0],
        },
        "second_run": second,
        "batch": batch,
        "targets": TARGETS,
        "seconds": round(time.perf_counter() - started, 2),
    }


# --- the summary ------------------------------------------------------------------------------------------------------


def _met(ok: bool) -> str:
    return "met" if ok else "**not met**"


def _design_rows(label: str, d: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (
            f"{label}: billed input tokens",
            f"{d['billed_input_tokens']:,} = {d['vs_lower_bound']:.3f}× bound "
            f"({d['billed_input_tokens_per_evaluation']} per evaluation, {d['calls']:,} calls)",
        ),
        (f"{label}: cache writes / reads", f"{d['cache_creation_input_tokens']:,} / {d['cache_read_input_tokens']:,}"),
        (f"{label}: dollars, input / total", f"${d['input_cost_usd']:.4f} / ${d['cost_usd']:.4f}"),
    ]


def summary(result: dict[str, Any]) -> str:
    fan, limited, tokens = result["fan_out"], result["rate_limited"], result["input_tokens"]
    second, batch = result["second_run"], result["batch"]
    one, per_metric = tokens["one_call_per_conversation"], tokens["one_call_per_metric"]
    cached = tokens["one_call_per_metric_every_prefix_cached"]
    phases, cpu, run1 = fan["phases"], fan["client_cpu"], fan["run"]
    rows: list[tuple[str, str]] = [
        ("conversations × fast-tier metrics", f"{tokens['conversations']:,} × {tokens['metrics']}"),
        ("fan-out: calls, evaluations, failures", f"{run1['calls']:,}, {run1['evaluated']:,}, {run1['failures']}"),
        (
            f"fan-out: calls/s over evaluate_window vs C/L (C = {fan['concurrency']}, L = {fan['latency_seconds']} s)",
            f"{fan['calls_per_second']} / {fan['ceiling_calls_per_second']:g} = {fan['throughput_vs_ceiling']:.1%} "
            f"({fan['seconds']} s; ideal {fan['ideal_seconds']} s)",
        ),
        (
            "fan-out: before first call / until first answer / answers / after last",
            f"{phases['before_first_call_seconds']} / {phases['first_call_to_first_answer_seconds']} / "
            f"{phases['first_to_last_answer_seconds']} / {phases['after_last_answer_seconds']} s",
        ),
        (
            "fan-out: steady calls/s (first to last answer)",
            f"{phases['steady_calls_per_second']} = {phases['steady_vs_ceiling']:.1%} of C/L",
        ),
        (
            "fan-out: HTTP call p50 / p99 / max; recorded latency p50 / p99",
            f"{fan['http_call_seconds']['p50']} / {fan['http_call_seconds']['p99']} / "
            f"{fan['http_call_seconds']['max']} s; {fan['recorded_latency_ms']['p50']:.0f} / "
            f"{fan['recorded_latency_ms']['p99']:.0f} ms",
        ),
        ("fan-out: client CPU", f"{cpu['ms_per_call']} ms per call, {cpu['share_of_one_core']:.0%} of a core"),
        (
            f"rate-limited ({limited['requests_per_second_limit']:g} req/s, burst {limited['burst']}): answered/s",
            f"{limited['answered_per_second']} = {limited['vs_limit']:.1%} of the limit "
            f"({limited['vs_burst_adjusted_ceiling']:.1%} burst-adjusted)",
        ),
        (
            "rate-limited: calls, 429s served, retries, failed calls (evaluations)",
            f"{limited['calls']:,}, {limited['server']['rate_limited_429']:,}, {limited['retries']:,}, "
            f"{limited['calls_failed']} ({limited['run']['failures']})",
        ),
        (
            "input tokens: lower bound (conversation + questions once)",
            f"{tokens['lower_bound_input_tokens']:,} (${tokens['lower_bound_input_cost_usd']:.4f})",
        ),
        *_design_rows("one call per conversation", one),
        *_design_rows("… if every prefix were cacheable", tokens["one_call_per_conversation_every_prefix_cacheable"]),
        *_design_rows("one call per (metric, conversation)", per_metric),
        *_design_rows("… if every prefix were cacheable", cached),
        ("second run, no new data: pending, calls", f"{second['pairs_pending']}, {second['calls']}"),
        (
            "batch: evaluations (real-time run's)",
            f"{batch['collect_run']['evaluated']:,} ({batch['realtime_evaluations']:,})",
        ),
        (
            "batch: cost vs real-time",
            f"${batch['tokens']['cost_usd']:.4f} / ${batch['realtime_cost_usd']:.4f} "
            f"= {batch['cost_vs_realtime']:.3f}×",
        ),
    ]
    table = ["| figure | value |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows)]
    same_answers = batch["collect_run"]["evaluated"] == batch["realtime_evaluations"]
    cheapest = tokens["cheapest"].replace("_", " ")
    lines = [
        *table,
        "",
        f"- fan-out ≥ 90 % of C/L: {_met(fan['throughput_vs_ceiling'] >= TARGETS['throughput_vs_ceiling'])} "
        f"({fan['throughput_vs_ceiling']:.1%})",
        f"- rate-limited run, 429s retried with no failures: "
        f"{_met(limited['server']['rate_limited_429'] > 0 and limited['run']['failures'] == 0)} "
        f"({limited['server']['rate_limited_429']:,} 429s, {limited['calls_failed']} calls failed)",
        f"- billed input tokens ≤ 1.3× the lower bound: "
        f"{_met(one['vs_lower_bound'] <= TARGETS['billed_vs_lower_bound'])} ({one['vs_lower_bound']:.3f}×)",
        f"- cheapest at equal answers: {cheapest} (one call per (metric, conversation) costs "
        f"{per_metric['cost_vs_one_call_per_conversation']:.2f}×, "
        f"{cached['cost_vs_one_call_per_conversation']:.2f}× if every prefix were cacheable; one call per conversation "
        f"with every prefix cacheable costs "
        f"{tokens['one_call_per_conversation_every_prefix_cacheable']['cost_vs_one_call_per_conversation']:.2f}×)",
        f"- a second run with no new data makes 0 calls: {_met(second['calls'] == 0)} ({second['calls']} calls)",
        f"- batch costs 0.5× real-time at the same evaluations: "
        f"{_met(abs(batch['cost_vs_realtime'] - TARGETS['batch_cost_ratio']) < 0.005 and same_answers)} "
        f"({batch['cost_vs_realtime']:.3f}×)",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv[1:]), indent=2))
