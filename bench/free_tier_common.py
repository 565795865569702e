"""What the free-tier benchmark's parts share: where the datasets are, reading them, and the figures (macro-F1,
per-class precision/recall, accuracy, AUROC)."""

from __future__ import annotations

import gzip
import json
import math
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DATASETS = Path(os.environ.get("METRICSTORE_DATASETS") or REPO.parent / "shared" / "datasets")
"""The shared datasets: ``$METRICSTORE_DATASETS``, else ``../shared/datasets`` beside the repository."""
SENTIMENTS = ("negative", "neutral", "positive")


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def shown(path: Path) -> str:
    """A dataset path as it reads in a report: relative to the datasets' parent when it can be."""
    try:
        return str(path.relative_to(DATASETS.parent.parent))
    except ValueError:
        return str(path)


def customer_turns(conversation: dict[str, Any]) -> list[str]:
    return [
        t["text"].strip()
        for t in conversation["turns"]
        if t.get("speaker", "customer") == "customer" and t["text"].strip()
    ]


def customer_text(conversation: dict[str, Any]) -> str:
    """A normalized conversation's customer turns, one per line."""
    return "\n".join(customer_turns(conversation))


def per_class(gold: Sequence[str], predicted: Sequence[str | None], cls: str) -> dict[str, float]:
    tp = sum(g == cls and p == cls for g, p in zip(gold, predicted, strict=True))
    fp = sum(g != cls and p == cls for g, p in zip(gold, predicted, strict=True))
    fn = sum(g == cls and p != cls for g, p in zip(gold, predicted, strict=True))
    return {
        "precision": round(tp / (tp + fp), 4) if tp + fp else 0.0,
        "recall": round(tp / (tp + fn), 4) if tp + fn else 0.0,
        "f1": round(2 * tp / (2 * tp + fp + fn), 4) if tp else 0.0,
    }


def macro_f1(gold: Sequence[str], predicted: Sequence[str | None], classes: Sequence[str] | None = None) -> float:
    """Mean F1 over ``classes`` (default: every class in gold or predicted); F1 is 0 where undefined."""
    chosen = classes or sorted(set(gold) | {p for p in predicted if p is not None})
    scores = [per_class(gold, predicted, c)["f1"] for c in chosen]
    return round(sum(scores) / len(scores), 4) if scores else 0.0


def against_always_neutral(gold: Sequence[str], predicted: Sequence[str | None]) -> tuple[float, float]:
    """(macro-F1 of ``predicted``, macro-F1 of always answering neutral), over the three sentiments."""
    return macro_f1(gold, predicted, SENTIMENTS), macro_f1(gold, ["neutral"] * len(gold), SENTIMENTS)


def accuracy(gold: Sequence[Any], predicted: Sequence[Any]) -> float:
    return round(sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold), 4) if gold else 0.0


def auroc(scores: Sequence[float], positives: Sequence[bool]) -> float | None:
    """Area under the ROC curve of ``scores`` ranking the positives first (ties count half); None without both."""
    pos = [s for s, p in zip(scores, positives, strict=True) if p]
    neg = [s for s, p in zip(scores, positives, strict=True) if not p]
    if not pos or not neg:
        return None
    from sklearn.metrics import roc_auc_score

    return round(float(roc_auc_score([1] * len(pos) + [0] * len(neg), [*pos, *neg])), 4)


def rating_sentiment(ratings: Sequence[float]) -> str:
    """Mean rating rounded half up: 1–2 negative, 3 neutral, 4–5 positive."""
    rounded = math.floor(sum(ratings) / len(ratings) + 0.5)
    return "negative" if rounded <= 2 else "neutral" if rounded == 3 else "positive"
