"""What a run would spend, without calling anything: per metric, the pending evaluations, tokens and dollars
(`metricstore estimate`, `metricstore run --dry-run`)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import duckdb

from metricstore.catalog_loader import MetricCatalog
from metricstore.evaluation.models import CLAUDE_TIERS, model_tiers
from metricstore.evaluation.pending import AiSettings, cached_answers, model_for, pending_work
from metricstore.evaluation.prompts import build_request
from metricstore.windows import HOUR, TimeWindow


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
        cached = cached_answers(conn, work, tiers)
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
