"""How far anyone gets on USS dialogue sentiment: the ceilings the free tier's figures are read against.

- **One rater against the others.** USS has 3-7 annotators per dialogue. One of them, drawn at random, is scored
  against the rounded mean of the others, the way the issue's calibration takes raters' agreement with each other
  as the ceiling; the free tier is scored against the same others' mean, so the two stand side by side. A person
  who read the whole dialogue, both sides, is the best a reader of it can hope to agree with the rest.
- **A model trained on USS itself** (5-fold cross-validation, never shipped: USS may not ship, and nothing in the
  product is trained on it): logistic regression on word and character TF-IDF of the customer's turns, classes
  weighted by their frequency. What 800 rated dialogues of the same kind teach a text model.
- **Half the negatives**: for each of them and the free tier's dialogue score, how many dialogues one must call
  negative to catch half the negative ones, the cut chosen after seeing the answers (so optimistic).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from bench.free_tier_common import (
    SENTIMENTS,
    against_always_neutral,
    auroc,
    customer_turns,
    per_class,
    rating_sentiment,
)

DRAWS = 20
"""Draws of the held-out rater: the figures are their mean, the ratio's range beside it."""


def _scored(gold: Sequence[str], predicted: Sequence[str]) -> dict[str, float]:
    f1, neutral = against_always_neutral(gold, predicted)
    negative = per_class(gold, predicted, "negative")
    return {
        "macro_f1": f1,
        "ratio_to_always_neutral": f1 / neutral if neutral else 0.0,
        "negative_recall": negative["recall"],
        "negative_precision": negative["precision"],
        **{f"{c}_f1": per_class(gold, predicted, c)["f1"] for c in SENTIMENTS},
    }


def _mean(rows: Sequence[dict[str, float]]) -> dict[str, Any]:
    means = {k: round(sum(r[k] for r in rows) / len(rows), 4) for k in rows[0]}
    ratios = [r["ratio_to_always_neutral"] for r in rows]
    return {**means, "ratio_range": [round(min(ratios), 3), round(max(ratios), 3)]}


def raters_ceiling(ratings: Sequence[Sequence[float]], predicted: Sequence[str], draws: int = DRAWS) -> dict[str, Any]:
    """One rater, drawn at random per dialogue, and the free tier's ``predicted`` labels, each scored against the
    rounded mean of the other raters (dialogues with at least two); the mean over ``draws`` seeded draws."""
    kept = [i for i, r in enumerate(ratings) if len(r) >= 2]
    rater_rows, free_rows = [], []
    for draw in range(draws):
        pick = random.Random(draw)
        one, rest = [], []
        for i in kept:
            held = pick.randrange(len(ratings[i]))
            one.append(rating_sentiment([ratings[i][held]]))
            rest.append(rating_sentiment([r for k, r in enumerate(ratings[i]) if k != held]))
        rater_rows.append(_scored(rest, one))
        free_rows.append(_scored(rest, [predicted[i] for i in kept]))
    return {"dialogues": len(kept), "draws": draws, "one_rater": _mean(rater_rows), "free_tier": _mean(free_rows)}


def half_the_negatives(scores: Sequence[float], negative: Sequence[bool]) -> dict[str, Any]:
    """How many dialogues are called negative, and how many rightly, when the cut on ``scores`` (higher = more
    negative) is the lowest that catches half the negative dialogues."""
    wanted = (sum(negative) + 1) // 2
    ranked = sorted(zip(scores, negative, strict=True), key=lambda x: -x[0])
    caught = called = 0
    for index, (score, is_negative) in enumerate(ranked):
        caught += is_negative
        if caught >= wanted:
            called = index + 1
            while called < len(ranked) and ranked[called][0] == score:  # a cut takes every tie
                caught += ranked[called][1]
                called += 1
            break
    return {
        "negatives": sum(negative),
        "caught": caught,
        "called_negative": called,
        "precision": round(caught / called, 4) if called else 0.0,
    }


def trained_on_uss(rows: Sequence[dict[str, Any]], gold: Sequence[str], folds: int = 5) -> dict[str, Any]:
    """The cross-validated predictions of a text classifier trained on USS's own dialogues (a diagnostic only)."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline, make_union

    texts = [" ".join(customer_turns(r)) for r in rows]
    model = make_pipeline(
        make_union(
            TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True),
        ),
        LogisticRegression(class_weight="balanced", max_iter=3000),
    )
    proba = cross_val_predict(
        model, texts, list(gold), cv=StratifiedKFold(folds, shuffle=True, random_state=0), method="predict_proba"
    )
    classes = sorted(set(gold))
    predicted = [classes[k] for k in np.argmax(proba, axis=1)]
    negative = [g == "negative" for g in gold]
    p_negative = [float(p) for p in proba[:, classes.index("negative")]]
    return {
        "model": "logistic regression, word 1-2-grams + character 2-5-grams TF-IDF of the customer's turns, "
        f"balanced class weights, {folds}-fold stratified cross-validation",
        **{k: round(v, 4) for k, v in _scored(gold, predicted).items()},
        "negative_auroc": auroc(p_negative, negative),
        "half_the_negatives": half_the_negatives(p_negative, negative),
    }
