"""Calibrating a metric: its current definition version evaluated on labelled conversations, compared with the
labels, and the result kept per definition version in ``ops.calibrations``.

Answers come from ``ops.llm_cache`` first (the key is the conversation's content, the metric's version and the
model, as in the hourly run), so a second calibration of an unchanged version costs nothing, and what it buys is
cached for the hourly run too. Model calls go through the same journal as the hourly fan-out: a process killed
mid-calibration loses no answer and bills no call twice (the next run replays the journal). Calibration writes
no ``metric_values``: the values the job computes for a conversation stay the job's.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import duckdb

from metricstore.calibration.labels import LabelSet
from metricstore.calibration.stats import Agreement, Answer, Figure, agreement, rater_ceiling
from metricstore.definitions import MetricDefinition
from metricstore.evaluation.base import Conversation, Evaluation
from metricstore.evaluation.claude import Budget, ClaudeEvaluator, ClaudeSettings, Pacer
from metricstore.evaluation.journal import CallJournal, replay_journals, warehouse_path
from metricstore.evaluation.local import LocalEvaluator
from metricstore.evaluation.models import CLAUDE_TIERS, model_tiers
from metricstore.evaluation.pending import load_conversations, model_for
from metricstore.evaluation.run import ClientFactory, default_client
from metricstore.evaluation.store import (
    cache_key,
    cache_row,
    cached_evaluations,
    call_row,
    content_hash,
    sample_cache_keys,
    write_evaluations,
)
from metricstore.windows import utc_now

CONCURRENCY = 8


class CalibrationError(Exception):
    """A calibration that cannot run (the message says why)."""


@dataclass
class Calibration:
    """One calibration of a metric's definition version against a labels file."""

    calibration_id: str
    workspace_id: str
    metric_key: str
    metric_type: str
    definition_version: str
    model: str
    labels_path: str
    labels_digest: str
    labelled: int  # conversations with a usable label
    raters: int
    refused: list[tuple[int, str]]  # label lines refused (line, reason)
    unknown: list[str]  # labelled conversations not in the warehouse
    errors: list[str]  # conversations the metric failed on (conversation: error)
    agreement: Agreement
    ceiling: dict[str, Figure]
    calls: int = 0
    cached: int = 0
    cost_usd: float = 0.0
    created_at: datetime = field(default_factory=utc_now)

    def figure(self, name: str) -> Figure | None:
        return self.agreement.figures.get(name)

    def as_dict(self) -> dict[str, Any]:
        return {
            **{k: v for k, v in asdict(self).items() if k not in ("agreement", "ceiling", "refused")},
            "refused": [{"line": line, "reason": reason} for line, reason in self.refused],
            "figures": {name: asdict(fig) for name, fig in self.agreement.figures.items()},
            "confusion": self.agreement.confusion,
            "ceiling": {name: asdict(fig) for name, fig in self.ceiling.items()},
            "created_at": self.created_at.isoformat(),
        }


def answer_of(metric: MetricDefinition, evaluation: Evaluation) -> Answer:
    """What an evaluation answered, typed as labels are: None when it gave no value (not applicable)."""
    if evaluation.status not in ("ok", "out_of_range"):
        return None
    kind = metric.metric_type
    if kind == "numerical":
        return evaluation.value_num
    if kind == "boolean":
        return evaluation.value_bool
    if kind == "list":
        return sorted(set(evaluation.value_list)) if evaluation.value_list is not None else None
    return evaluation.value_text


def calibrate(
    conn: duckdb.DuckDBPyConnection,
    workspace_id: str,
    metric: MetricDefinition,
    labels: LabelSet,
    *,
    client_factory: ClientFactory = default_client,
    run_id: str | None = None,
) -> Calibration:
    """Evaluate ``metric`` (its current version) on the labelled conversations of ``workspace_id``, store the new
    answers in the cache, every model call in ops.llm_calls and the result in ops.calibrations."""
    if not metric.is_ai:
        raise CalibrationError(f"'{metric.key}' is not an AI metric: calibration measures AI answers")
    if not labels.labels:
        reasons = "; ".join(f"line {line}: {why}" for line, why in labels.refused[:3])
        raise CalibrationError(f"{labels.path} holds no usable label" + (f" ({reasons})" if reasons else ""))
    replay_journals(conn)  # what an earlier calibration or run that died had bought is in the cache first
    conversations = load_conversations(conn, [(workspace_id, cid) for cid in labels.conversation_ids])
    if not conversations:
        raise CalibrationError(
            f"none of the {len(labels.conversation_ids)} labelled conversations is in workspace {workspace_id}"
        )
    tiers = model_tiers()
    model = model_for(metric.model_tier, tiers)
    contents = {cid: content_hash(c.call) for (_, cid), c in conversations.items()}
    keys = {cid: cache_key(content, metric, model) for cid, content in contents.items()}
    sample_keys = {cid: sample_cache_keys(content, metric, model) for cid, content in contents.items()}
    in_cache = cached_evaluations(conn, [*keys.values(), *(k for ks in sample_keys.values() for k in ks.values())])
    answers = {cid: in_cache[key] for cid, key in keys.items() if key in in_cache}
    todo = [c for (_, cid), c in sorted(conversations.items()) if cid not in answers]
    prior = {cid: {n: in_cache[key] for n, key in sample_keys[cid].items() if key in in_cache} for cid in contents}
    journal = CallJournal(warehouse_path(conn), run_id, f"calibrate-{uuid.uuid4().hex}")
    fresh, call_rows = asyncio.run(_evaluate(todo, metric, prior, client_factory, journal, run_id))
    now = utc_now()
    cache_rows = [
        cache_row(keys[e.conversation_id], metric, e, now) for e in fresh if e.status not in ("error", "skipped")
    ]
    write_evaluations(conn, [], cache_rows, call_rows)
    journal.discard()  # only now: a process killed before this line leaves the journal for the next run to replay
    cached = len(answers)
    answers.update({e.conversation_id: e for e in fresh})

    expected = labels.consensus(metric.metric_type)
    scored = [cid for cid in sorted(expected) if cid in answers and answers[cid].status not in ("error", "skipped")]
    figures = agreement(
        metric.metric_type,
        [expected[cid] for cid in scored],
        [answer_of(metric, answers[cid]) for cid in scored],
        valid_range=(metric.valid_range_min, metric.valid_range_max),
        confidence=[answers[cid].confidence for cid in scored],
    )
    result = Calibration(
        calibration_id=uuid.uuid4().hex,
        workspace_id=workspace_id,
        metric_key=metric.key,
        metric_type=metric.metric_type,
        definition_version=metric.definition_version,
        model=model,
        labels_path=labels.path,
        labels_digest=labels.digest,
        labelled=len(expected),
        raters=len(labels.raters),
        refused=labels.refused,
        unknown=sorted(set(expected) - {cid for _, cid in conversations}),
        errors=sorted(
            f"{cid}: {answers[cid].error or answers[cid].status}"
            for cid in expected
            if cid in answers and answers[cid].status in ("error", "skipped")
        ),
        agreement=figures,
        ceiling=rater_ceiling(metric.metric_type, labels.by_rater()) if len(labels.raters) > 1 else {},
        calls=len(call_rows),
        cached=cached,
        cost_usd=round(sum(float(row["cost_usd"]) for row in call_rows), 6),
        created_at=now,
    )
    store_calibration(conn, result)
    return result


async def _evaluate(
    conversations: list[Conversation],
    metric: MetricDefinition,
    prior: dict[str, dict[int, Evaluation]],
    client_factory: ClientFactory,
    journal: CallJournal,
    run_id: str | None,
) -> tuple[list[Evaluation], list[dict[str, Any]]]:
    """Every conversation's evaluation and the rows of the model calls made for them (``prior``: the repeated
    answers already bought, by conversation)."""
    if not conversations:
        return [], []
    if metric.model_tier not in CLAUDE_TIERS:
        local = LocalEvaluator()
        return [local.evaluate_one(c, metric) for c in conversations], []
    client = client_factory()
    if client is None:
        raise CalibrationError(f"'{metric.key}' runs on the {metric.model_tier} tier: set ANTHROPIC_API_KEY")
    evaluator = ClaudeEvaluator(
        client,
        model_tiers()[metric.model_tier],
        asyncio.Semaphore(CONCURRENCY),
        Budget(),
        ClaudeSettings(),
        Pacer(),
        journal=journal,
        tier=metric.model_tier,
    )
    try:
        asked = (evaluator.evaluate(c, [metric], {metric.key: prior[c.conversation_id]}) for c in conversations)
        results = await asyncio.gather(*asked)
    finally:
        journal.close()
        await client.close()
    now = utc_now()
    calls = [call_row(record, metric.model_tier, run_id, now) for record in evaluator.calls]
    return [evaluation for (evaluation,) in results], calls


def store_calibration(conn: duckdb.DuckDBPyConnection, result: Calibration) -> None:
    """Keep a calibration in ops.calibrations (one row per calibration, kept per definition version)."""
    body = result.as_dict()
    conn.execute(
        "INSERT INTO ops.calibrations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            result.calibration_id,
            result.workspace_id,
            result.metric_key,
            result.metric_type,
            result.definition_version,
            result.model,
            result.labels_path,
            result.labels_digest,
            result.labelled,
            result.raters,
            len(result.refused),
            len(result.unknown),
            len(result.errors),
            json.dumps(body["figures"]),
            json.dumps(body["ceiling"]),
            json.dumps(body["confusion"]),
            result.calls,
            result.cached,
            result.cost_usd,
            result.created_at,
        ],
    )
