"""From a model's answer to a typed Evaluation: validated against the metric's type and labels, checked
against its valid range, and with evidence quotes checked against the transcript the model saw (its data was
escaped in the prompt, so a quote's ``&lt;`` ``&gt;`` ``&amp;`` are read back as the characters they stand for)."""

from __future__ import annotations

import html
import json
import math
import re
from collections import Counter
from dataclasses import replace
from typing import Any

from metricstore.definitions import ExtractField, MetricDefinition
from metricstore.evaluation.base import Evaluation


class AnswerInvalid(ValueError):
    """The answer does not fit the metric: retried once, then recorded as an error, never stored."""


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def grounded(quote: str, transcript: str) -> bool:
    """A quote is grounded when it occurs in the transcript (case and spacing aside)."""
    return bool(quote.strip()) and _normalise(quote) in _normalise(transcript)


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise AnswerInvalid(f"expected a number, got {json.dumps(value)}")
    return float(value)


def typed_value(metric: MetricDefinition, value: Any, evaluation: Evaluation) -> None:
    """Put ``value`` into the evaluation's typed column, or raise :class:`AnswerInvalid`."""
    labels = metric.label_names
    kind = metric.metric_type
    if metric.extraction_mode == "ai_extract":
        _extracted(metric, value, evaluation)
    elif kind == "numerical":
        evaluation.value_num = _number(value)
    elif kind == "boolean":
        if not isinstance(value, bool):
            raise AnswerInvalid(f"expected true or false, got {json.dumps(value)}")
        evaluation.value_bool = value
    elif kind == "list":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise AnswerInvalid(f"expected a list of strings, got {json.dumps(value)}")
        unknown = [v for v in value if labels and v not in labels]
        if unknown:
            raise AnswerInvalid(f"labels not in the metric's ai_labels: {', '.join(unknown)}")
        evaluation.value_list = value
    else:
        if not isinstance(value, str) or not value.strip():
            raise AnswerInvalid(f"expected a non-empty string, got {json.dumps(value)}")
        allowed = labels or (["positive", "neutral", "negative"] if metric.extraction_mode == "ai_sentiment" else [])
        if kind == "categorical" and allowed and value not in allowed:
            raise AnswerInvalid(f"'{value}' is not one of {', '.join(allowed)}")
        evaluation.value_text = value


def _extracted(metric: MetricDefinition, value: Any, evaluation: Evaluation) -> None:
    fields = [f for f in metric.ai_labels or [] if isinstance(f, ExtractField)]
    if not isinstance(value, dict) or set(value) != {f.name for f in fields}:
        raise AnswerInvalid(f"expected an object with fields {', '.join(f.name for f in fields)}")
    found = {k: v for k, v in value.items() if v is not None}
    if not found:
        evaluation.status = "not_applicable"
        return
    if metric.metric_type == "boolean":  # "was a date given?": something was found
        evaluation.value_bool = True
    elif len(fields) == 1:
        only = found[fields[0].name]
        if metric.metric_type == "numerical":
            evaluation.value_num = _number(only)
        elif metric.metric_type == "list":
            evaluation.value_list = [str(only)]
        else:
            evaluation.value_text = str(only)
    elif metric.metric_type == "list":
        evaluation.value_list = [f"{k}: {v}" for k, v in found.items()]
    else:
        evaluation.value_text = json.dumps(found, sort_keys=True)


def evaluation_from_answer(metric: MetricDefinition, conversation_id: str, answer: Any, transcript: str) -> Evaluation:
    """Validate one metric's answer object; raises :class:`AnswerInvalid` when it does not fit."""
    if not isinstance(answer, dict) or not {"value", "not_applicable"} <= set(answer):
        raise AnswerInvalid("the answer lacks value / not_applicable")
    evaluation = Evaluation(metric.key, metric.definition_version, conversation_id, "ok")
    rationale = answer.get("rationale")
    evaluation.rationale = rationale if isinstance(rationale, str) else None
    evidence = answer.get("evidence") or []
    evaluation.evidence = [html.unescape(q) for q in evidence if isinstance(q, str)][:5]
    evaluation.ungrounded_evidence = [q for q in evaluation.evidence if not grounded(q, transcript)]
    if answer["not_applicable"] is True or answer["value"] is None:
        evaluation.status = "not_applicable"
        return evaluation
    typed_value(metric, answer["value"], evaluation)
    apply_range(metric, evaluation)
    return evaluation


def agreement_of(samples: list[Evaluation]) -> Evaluation:
    """One value from a metric's repeated answers: the most frequent (the earliest of those tied), its confidence
    the share of the answers that agree with it (not applicable counts as an answer), its cost theirs together."""
    answers = [(e.status, e.value_num, e.value_text, e.value_bool, tuple(sorted(e.value_list or ()))) for e in samples]
    top, agreeing = Counter(answers).most_common(1)[0]  # ties: the answer seen first
    chosen = samples[answers.index(top)]
    return replace(
        chosen,
        confidence=agreeing / len(samples),
        input_tokens=sum(e.input_tokens for e in samples),
        cache_creation_input_tokens=sum(e.cache_creation_input_tokens for e in samples),
        cache_read_input_tokens=sum(e.cache_read_input_tokens for e in samples),
        output_tokens=sum(e.output_tokens for e in samples),
        cost_usd=sum(e.cost_usd for e in samples),
        latency_ms=sum(e.latency_ms for e in samples),
        attempts=sum(e.attempts for e in samples),
        cached=all(e.cached for e in samples),
    )


def apply_min_confidence(metric: MetricDefinition, evaluation: Evaluation) -> None:
    """Below the definition's ``min_confidence``: kept, with the status that says so (left out of aggregates). A
    value whose evaluator gives no confidence is not judged by it."""
    low = metric.min_confidence
    if low is None or evaluation.status != "ok" or evaluation.confidence is None:
        return
    if evaluation.confidence < low:
        evaluation.status = "low_confidence"


def apply_range(metric: MetricDefinition, evaluation: Evaluation) -> None:
    """Outside [valid_range_min, valid_range_max]: kept, with the status that says so."""
    num = evaluation.value_num
    if num is None or evaluation.status != "ok":
        return
    low, high = metric.valid_range_min, metric.valid_range_max
    if (low is not None and num < low) or (high is not None and num > high):
        evaluation.status = "out_of_range"
