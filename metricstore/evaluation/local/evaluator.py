"""The free tier's evaluator: one answer per metric, from the sentiment, classification and extraction modules."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from metricstore.definitions import ClassLabel, ExtractField, MetricDefinition
from metricstore.evaluation.answers import apply_range
from metricstore.evaluation.base import Conversation, Evaluation
from metricstore.evaluation.local.classification import (
    CLASSIFY_MODEL,
    CLASSIFY_THRESHOLD,
    _best_sentence,
    classify_confidence,
    is_catch_all,
    score_labels,
)
from metricstore.evaluation.local.extraction import EXTRACT_MODEL, extract_details
from metricstore.evaluation.local.sentiments import (
    NEGATIVE_THRESHOLD,
    POSITIVE_THRESHOLD,
    SENTIMENT_MODEL,
    _map_sentiment_labels,
    _sentiment_evidence,
    dialogue_score,
    sentiment_confidence,
    sentiment_label,
)
from metricstore.evaluation.local.text import _as_text, _dedupe


class _NotApplicable(Exception):
    """The metric does not apply to this conversation (the message says why)."""


class LocalEvaluator:
    """The ``free`` tier: answers ai_sentiment, ai_classify and ai_extract metrics locally (see the module doc).

    ``region`` is the country whose national phone numbers are read (ISO 3166 code)."""

    def __init__(self, *, region: str = "US") -> None:
        self.region = region
        self._modes: dict[str, Callable[[Conversation, MetricDefinition, Evaluation], None]] = {
            "ai_sentiment": self._sentiment,
            "ai_classify": self._classify,
            "ai_extract": self._extract,
        }

    async def evaluate(self, conversation: Conversation, metrics: list[MetricDefinition]) -> list[Evaluation]:
        """One Evaluation per metric, in the same order; a metric's failure is its own ``error``."""
        return [self.evaluate_one(conversation, metric) for metric in metrics]

    def evaluate_one(self, conversation: Conversation, metric: MetricDefinition) -> Evaluation:
        started = time.perf_counter()
        evaluation = Evaluation(metric.key, metric.definition_version, conversation.conversation_id, "ok", attempts=1)
        mode = metric.computed_mode or "derived"
        try:
            handler = self._modes.get(mode)
            if mode == "ai_query":
                raise ValueError(
                    "ai_query needs a language model: the free tier cannot run prompts "
                    "(set model_tier to fast, balanced or max)"
                )
            if handler is None:
                raise ValueError(f"extraction_mode '{mode}' is not an AI mode; the hourly job computes it")
            handler(conversation, metric, evaluation)
            apply_range(metric, evaluation)
        except _NotApplicable as reason:
            evaluation = Evaluation(
                metric.key,
                metric.definition_version,
                conversation.conversation_id,
                "not_applicable",
                rationale=str(reason),
                evidence=evaluation.evidence,
                model=evaluation.model,
                attempts=1,
                confidence=evaluation.confidence,
            )
        except Exception as exc:
            evaluation = Evaluation(
                metric.key,
                metric.definition_version,
                conversation.conversation_id,
                "error",
                model=evaluation.model,
                error=f"{type(exc).__name__}: {exc}",
                attempts=1,
            )
        evaluation.latency_ms = round((time.perf_counter() - started) * 1000, 3)
        return evaluation

    # ai_sentiment ------------------------------------------------------------------------------------------------

    def _sentiment(self, conversation: Conversation, metric: MetricDefinition, evaluation: Evaluation) -> None:
        evaluation.model = SENTIMENT_MODEL
        turns = [t.content.strip() for t in conversation.transcript if t.role == "user" and t.content.strip()]
        if not turns:
            raise _NotApplicable("the conversation has no customer (user) turns")
        score = dialogue_score(turns)
        label = sentiment_label(score)
        evaluation.confidence = sentiment_confidence(score)
        evaluation.rationale = (
            f"dialogue score {score:+.3f} over {len(turns)} customer turn(s) (VADER, displeasure and courtesy "
            f"handled, later and negative turns weigh more): {label} "
            f"(positive ≥ {POSITIVE_THRESHOLD}, negative ≤ {NEGATIVE_THRESHOLD})"
        )
        evaluation.evidence = _sentiment_evidence(turns, label)
        kind = metric.metric_type
        if kind == "numerical":
            evaluation.value_num = score
            return
        if kind == "boolean":
            evaluation.value_bool = label == "negative"
            return
        value = label
        if metric.ai_labels:
            mapping = _map_sentiment_labels(metric)
            if label not in mapping:
                raise _NotApplicable(f"{label} (compound {score:+.3f}) matches none of {metric.label_names}")
            value = mapping[label]
        if kind == "list":
            evaluation.value_list = [value]
        else:
            evaluation.value_text = value

    # ai_classify -------------------------------------------------------------------------------------------------

    def _classify(self, conversation: Conversation, metric: MetricDefinition, evaluation: Evaluation) -> None:
        evaluation.model = CLASSIFY_MODEL
        labels = [label for label in metric.ai_labels or [] if isinstance(label, str | ClassLabel)]
        if not labels:
            raise ValueError("ai_classify needs ai_labels")
        said = [t for t in conversation.transcript if t.content.strip()]
        if not said:
            raise _NotApplicable("the conversation has no transcript")
        turns = [t.content for t in said]
        specific = [label for label in labels if not is_catch_all(label)]
        catch_all = next((label for label in metric.label_names if is_catch_all(label)), None)
        ranked = score_labels(turns, specific, customer=[t.role == "user" for t in said])
        evaluation.confidence = classify_confidence(ranked)
        top = ", ".join(f"{s.name} {s.score:.3f} (best line {s.peak:.3f})" for s in ranked[:2])
        evaluation.rationale = f"TF-IDF similarity, top labels: {top}; a label applies from {CLASSIFY_THRESHOLD}"
        # a list takes every label that applies; a category, the top label when it applies
        chosen = [s for s in ranked[: None if metric.metric_type == "list" else 1] if s.peak >= CLASSIFY_THRESHOLD]
        if not chosen:
            if catch_all is None:
                if ranked and metric.metric_type != "list":  # the line that came closest
                    evaluation.evidence = [_best_sentence(turns[ranked[0].peak_line], specific, ranked[0].name)]
                raise _NotApplicable(f"no label reaches {CLASSIFY_THRESHOLD}: {top}")
            # none of the others: the customer's opening words are what no label fits
            evaluation.rationale += f"; none does: {catch_all}"
            evaluation.evidence = [next((t.content for t in said if t.role == "user"), turns[0]).strip()]
            if metric.metric_type == "list":
                evaluation.value_list = [catch_all]
            else:
                evaluation.value_text = catch_all
            return
        if metric.metric_type == "list":
            by_definition = {name: i for i, name in enumerate(metric.label_names)}
            chosen.sort(key=lambda s: by_definition.get(s.name, len(by_definition)))
            evaluation.evidence = _dedupe(_best_sentence(turns[s.peak_line], specific, s.name) for s in chosen)
            evaluation.value_list = [s.name for s in chosen]
            return
        evaluation.evidence = [_best_sentence(turns[chosen[0].peak_line], specific, chosen[0].name)]
        evaluation.value_text = chosen[0].name

    # ai_extract --------------------------------------------------------------------------------------------------

    def _extract(self, conversation: Conversation, metric: MetricDefinition, evaluation: Evaluation) -> None:
        evaluation.model = EXTRACT_MODEL
        fields = [f for f in metric.ai_labels or [] if isinstance(f, ExtractField)]
        if not fields:
            raise ValueError("ai_extract needs fields in ai_labels: {name, type, description}")
        details = extract_details(conversation.transcript, fields, conversation.occurred_at, region=self.region)
        found = {name: d for name, d in details.items() if d.value is not None}
        confidences = [d.confidence for d in found.values() if d.confidence is not None]
        # nothing found: even odds (a field may be stated in words no pattern reads)
        evaluation.confidence = round(sum(confidences) / len(confidences), 4) if confidences else 0.5
        evaluation.rationale = "; ".join(f"{name}: {d.how}" for name, d in found.items()) or "nothing found"
        evaluation.evidence = _dedupe(d.evidence for d in found.values() if d.evidence)
        if not found:
            raise _NotApplicable(f"none of {', '.join(f.name for f in fields)} found in the transcript")
        kind = metric.metric_type
        if len(fields) == 1:
            value = found[fields[0].name].value
            if isinstance(value, float):
                evaluation.value_num = value
            elif kind == "numerical":
                raise ValueError(f"field {fields[0].name} ({fields[0].type}) is not a number: {value!r}")
            if kind == "list":
                evaluation.value_list = [_as_text(value)]
            elif kind != "numerical":
                evaluation.value_text = _as_text(value)
            if kind == "boolean":
                evaluation.value_bool = True
            return
        values = {name: d.value for name, d in found.items()}
        if kind == "list":
            evaluation.value_list = [f"{k}: {_as_text(v)}" for k, v in values.items()]
        else:
            evaluation.value_text = json.dumps(values, sort_keys=True)
