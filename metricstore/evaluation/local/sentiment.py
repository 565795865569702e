"""``ai_sentiment`` of the free tier."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from metricstore.definitions import MetricDefinition
from metricstore.evaluation.local.text import _dedupe, _lines, _sentences, _version, name_words

POSITIVE_THRESHOLD = 0.35
"""Mean compound at or above which the text is positive. Chosen on USS dialogue ratings: tuning on the SGD part
alone and on the MWOZ part alone both pick 0.35 (grid step 0.05). VADER's own ±0.05 labels nearly every polite
conversation positive ("thanks" alone scores 0.44)."""
NEGATIVE_THRESHOLD = -0.35
"""Mean compound at or below which the text is negative. USS has too few negative dialogues (27 of 1,000) to
measure it (any cut in [-0.45, -0.05] gives the same macro-F1), so it mirrors the positive cut: a report of a
problem ("I lost my card", -0.32) stays neutral, plain displeasure ("this is unacceptable", -0.46) is negative."""
SENTIMENTS = ("positive", "neutral", "negative")
_SENTIMENT_SYNONYMS = {
    "positive": {"positive", "pos", "happy", "satisfied", "pleased", "good", "promoter", "delighted", "content"},
    "neutral": {"neutral", "neu", "ok", "okay", "indifferent", "passive", "mixed", "calm"},
    "negative": {
        "negative",
        "neg",
        "unhappy",
        "dissatisfied",
        "unsatisfied",
        "frustrated",
        "angry",
        "upset",
        "annoyed",
        "bad",
        "detractor",
    },
}


SENTIMENT_MODEL = f"local/vader-{_version('vaderSentiment')}"


@cache
def _vader() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def compound(text: str) -> float:
    """VADER's compound score of one piece of text, in [-1, 1]."""
    return float(_vader().polarity_scores(text)["compound"])


def sentiment_label(score: float) -> str:
    if score >= POSITIVE_THRESHOLD:
        return "positive"
    if score <= NEGATIVE_THRESHOLD:
        return "negative"
    return "neutral"


def sentiment(text: str) -> tuple[str, float]:
    """(label, score): the mean VADER compound over the text's lines (one line per turn) and its label."""
    lines = _lines(text)
    if not lines:
        return "neutral", 0.0
    score = round(sum(compound(line) for line in lines) / len(lines), 4)
    return sentiment_label(score), score


def _sentiment_evidence(turns: Sequence[str], label: str) -> list[str]:
    """Up to two sentences that pull hardest towards the label (for neutral: the strongest either way)."""
    scored = [(compound(s), i, s) for i, s in enumerate(s for t in turns for s in _sentences(t))]
    if label == "positive":
        picked = sorted((x for x in scored if x[0] > 0), key=lambda x: (-x[0], x[1]))
    elif label == "negative":
        picked = sorted((x for x in scored if x[0] < 0), key=lambda x: (x[0], x[1]))
    else:
        picked = sorted((x for x in scored if x[0] != 0), key=lambda x: (-abs(x[0]), x[1]))
    if not scored:
        return []
    return _dedupe(s for _, _, s in picked[:2]) or [scored[0][2]]


def _map_sentiment_labels(metric: MetricDefinition) -> dict[str, str]:
    """positive/neutral/negative → the metric's own label of that meaning, matched by name."""
    mapping: dict[str, str] = {}
    for label in metric.label_names:
        words = set(name_words(label).split())
        for sentiment_class, synonyms in _SENTIMENT_SYNONYMS.items():
            if sentiment_class not in mapping and words & synonyms and not ({"not", "non"} & words):
                mapping[sentiment_class] = label
                break
    if not mapping:
        raise ValueError(
            f"ai_labels {metric.label_names} cannot be matched to positive/neutral/negative by name; "
            "use names such as positive/neutral/negative (or happy/frustrated), or a model tier"
        )
    return mapping
