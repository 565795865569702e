"""Agreement between a metric's answers and labelled answers, by metric type, each figure with a bootstrap 95 %
interval and the n it stands on.

- categorical: accuracy, macro-F1 (over the labelled classes), Cohen's κ, the confusion matrix;
- boolean: precision, recall and F1 of ``true``, Cohen's κ;
- numerical: mean absolute error, Spearman's ρ, the share of answers within the valid range;
- list: set precision, recall and F1 (micro-averaged over the items of every conversation);
- text: normalized exact match (case, punctuation and spacing ignored).

"No value" (the metric was not applicable, or the label says none is expected) is an answer of its own: for
categorical and text metrics it is the class ``(none)``, for lists the empty set, for booleans it counts as not
``true``; numerical figures stand on the pairs where both sides have a number, and ``coverage`` says how many
labelled conversations got a value. The interval is the percentile bootstrap over conversations (2,000
resamples, a fixed seed: the same labels and answers always give the same figures).

Every statistic is computed for all resamples at once (an index matrix, confusion matrices by ``bincount``, ranks
by ``scipy.stats.rankdata``): calling scikit-learn's scorers 2,000 times per figure took ~100 × longer. The point
estimate is the same function on the identity resample, and the tests hold every figure to scikit-learn's and
scipy's own (``cohen_kappa_score``, ``f1_score``, ``spearmanr``…) on random data.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np

NONE = "(none)"
RESAMPLES = 2000
SEED = 20261201

Answer = str | float | bool | list[str] | None


@dataclass(frozen=True)
class Figure:
    """One agreement figure: the estimate, its bootstrap 95 % interval (None where it cannot be resampled) and n."""

    value: float | None
    low: float | None
    high: float | None
    n: int


@dataclass
class Agreement:
    """Every figure of one comparison, by name, and for categorical metrics the confusion matrix."""

    metric_type: str
    figures: dict[str, Figure]
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)


def normalize_text(value: str | None) -> str:
    """Text as compared: lower case, punctuation dropped, spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s]", " ", (value or "").lower())).strip()


# --- statistics of many resamples at once: each takes an index matrix (resamples × n) -------------------------------

Stat = Callable[[np.ndarray], np.ndarray]  # index matrix → one value per resample (NaN where undefined)


def _confusions(e: np.ndarray, p: np.ndarray, k: int, idx: np.ndarray) -> np.ndarray:
    """Per resample, the k × k confusion matrix of integer-coded answers (rows expected, columns predicted)."""
    r = idx.shape[0]
    flat = (np.arange(r)[:, None] * k * k + e[idx] * k + p[idx]).ravel()
    return np.bincount(flat, minlength=r * k * k).reshape(r, k, k).astype(float)


def _divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def _class_stats(e: np.ndarray, p: np.ndarray, k: int, labelled: list[int], *, binary: bool) -> dict[str, Stat]:
    """Categorical figures, or with ``binary`` (codes 0 = false, 1 = true) the boolean ones."""

    def accuracy(idx: np.ndarray) -> np.ndarray:
        cm = _confusions(e, p, k, idx)
        return np.trace(cm, axis1=1, axis2=2) / idx.shape[1]

    def kappa(idx: np.ndarray) -> np.ndarray:
        cm = _confusions(e, p, k, idx)
        n = idx.shape[1]
        po = np.trace(cm, axis1=1, axis2=2) / n
        pe = (cm.sum(axis=2) * cm.sum(axis=1)).sum(axis=1) / n**2
        return _divide(po - pe, 1 - pe)

    def macro_f1(idx: np.ndarray) -> np.ndarray:
        cm = _confusions(e, p, k, idx)
        diag = np.diagonal(cm, axis1=1, axis2=2)
        den = cm.sum(axis=2) + cm.sum(axis=1)
        f1 = np.nan_to_num(_divide(2 * diag, den))  # a class absent on both sides scores 0 (sklearn's default)
        return f1[:, labelled].mean(axis=1)

    def positive(which: str) -> Stat:
        def stat(idx: np.ndarray) -> np.ndarray:
            cm = _confusions(e, p, k, idx)
            tp, fp, fn = cm[:, 1, 1], cm[:, 0, 1], cm[:, 1, 0]
            # undefined precision or recall counts as 0, as scikit-learn's zero_division=0 does
            if which == "precision":
                return np.nan_to_num(_divide(tp, tp + fp))
            if which == "recall":
                return np.nan_to_num(_divide(tp, tp + fn))
            return np.nan_to_num(_divide(2 * tp, 2 * tp + fp + fn))

        return stat

    if binary:
        return {"precision": positive("precision"), "recall": positive("recall"), "f1": positive("f1"), "kappa": kappa}
    return {"accuracy": accuracy, "macro_f1": macro_f1, "kappa": kappa}


def _mean_of(values: np.ndarray) -> Stat:
    return lambda idx: values[idx].mean(axis=1)


def _spearman(x: np.ndarray, y: np.ndarray) -> Stat:
    from scipy.stats import rankdata

    def stat(idx: np.ndarray) -> np.ndarray:
        rx, ry = rankdata(x[idx], axis=1), rankdata(y[idx], axis=1)
        rx -= rx.mean(axis=1, keepdims=True)
        ry -= ry.mean(axis=1, keepdims=True)
        den = np.sqrt((rx**2).sum(axis=1) * (ry**2).sum(axis=1))
        return _divide((rx * ry).sum(axis=1), den)  # a constant side has no ranks to agree with: NaN

    return stat


def _sets(shared: np.ndarray, answered: np.ndarray, labelled: np.ndarray) -> dict[str, Stat]:
    def precision(idx: np.ndarray) -> np.ndarray:
        return _divide(shared[idx].sum(axis=1), answered[idx].sum(axis=1))

    def recall(idx: np.ndarray) -> np.ndarray:
        return _divide(shared[idx].sum(axis=1), labelled[idx].sum(axis=1))

    def f1(idx: np.ndarray) -> np.ndarray:
        tp = shared[idx].sum(axis=1)
        return _divide(2 * tp, answered[idx].sum(axis=1) + labelled[idx].sum(axis=1))

    return {"set_precision": precision, "set_recall": recall, "set_f1": f1}


# --- the bootstrap ----------------------------------------------------------------------------------------------------


def _figure(statistic: Stat, n: int, *, min_n: int = 1) -> Figure:
    """The statistic on all n pairs, and the 2.5th and 97.5th percentiles of it over resamples of the pairs."""
    if n < min_n:
        return Figure(None, None, None, n)
    value = float(statistic(np.arange(n)[None, :])[0])
    if math.isnan(value):
        return Figure(None, None, None, n)
    if n < 2:
        return Figure(_round(value), None, None, n)
    draws = statistic(np.random.default_rng(SEED).integers(0, n, (RESAMPLES, n)))
    kept = draws[~np.isnan(draws)]
    if len(kept) < RESAMPLES // 2:  # mostly undefined on resamples: no interval worth giving
        return Figure(_round(value), None, None, n)
    low, high = np.percentile(kept, [2.5, 97.5])
    return Figure(_round(value), _round(float(low)), _round(float(high)), n)


def _round(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else round(value, 4)


def _codes(values: list[str], classes: list[str]) -> np.ndarray:
    index = {c: i for i, c in enumerate(classes)}
    return np.array([index[v] for v in values], dtype=np.int64)


# --- by metric type ---------------------------------------------------------------------------------------------------


def agreement(
    metric_type: str,
    expected: Sequence[Answer],
    predicted: Sequence[Answer],
    *,
    valid_range: tuple[float | None, float | None] = (None, None),
    confidence: Sequence[float | None] | None = None,
) -> Agreement:
    """The figures of ``metric_type`` for paired answers (one pair per labelled conversation). With the answers'
    ``confidence``, also ``confidence_auroc``: how well it ranks right answers above wrong ones (0.5: not at all)."""
    if len(expected) != len(predicted):
        raise ValueError("expected and predicted answers must pair up")
    n = len(expected)
    confusion: dict[str, dict[str, int]] = {}
    if metric_type in ("categorical", "boolean"):
        if metric_type == "boolean":
            e, p, classes = [str(bool(v)) for v in expected], [str(bool(v)) for v in predicted], ["False", "True"]
            labelled = [0, 1]
        else:
            e = [NONE if v is None else str(v) for v in expected]
            p = [NONE if v is None else str(v) for v in predicted]
            classes = sorted(set(e) | set(p))
            labelled = sorted(classes.index(c) for c in set(e))
            pairs = list(zip(e, p, strict=True))
            confusion = {a: {b: sum(x == a and y == b for x, y in pairs) for b in classes} for a in classes}
        stats = _class_stats(
            _codes(e, classes), _codes(p, classes), len(classes), labelled, binary=metric_type == "boolean"
        )
        figures = {name: _figure(stat, n) for name, stat in stats.items()}
    elif metric_type == "numerical":
        both = [
            (float(x), float(y))
            for x, y in zip(expected, predicted, strict=True)
            if isinstance(x, int | float) and isinstance(y, int | float)
        ]
        ex, px = np.array([b[0] for b in both]), np.array([b[1] for b in both])
        got = np.array([float(y) for y in predicted if isinstance(y, int | float)])
        lo, hi = valid_range
        inside = np.ones(len(got), dtype=bool)
        if lo is not None:
            inside &= got >= lo
        if hi is not None:
            inside &= got <= hi
        figures = {
            "mae": _figure(_mean_of(np.abs(ex - px)), len(both)),
            "spearman": _figure(_spearman(ex, px), len(both), min_n=3),
            "within_range": _figure(_mean_of(inside.astype(float)), len(got)),
        }
    elif metric_type == "list":
        es = [set(v) if isinstance(v, list) else set() for v in expected]
        ps = [set(v) if isinstance(v, list) else set() for v in predicted]
        shared = np.array([len(a & b) for a, b in zip(es, ps, strict=True)], dtype=float)
        counts = np.array([len(b) for b in ps], dtype=float), np.array([len(a) for a in es], dtype=float)
        figures = {name: _figure(stat, n) for name, stat in _sets(shared, *counts).items()}
    elif metric_type == "text":
        same = [
            normalize_text(x if isinstance(x, str) else None) == normalize_text(y if isinstance(y, str) else None)
            for x, y in zip(expected, predicted, strict=True)
        ]
        figures = {"exact_match": _figure(_mean_of(np.array(same, dtype=float)), n)}
    else:
        raise ValueError(f"no agreement figures for metric type '{metric_type}'")
    answered = np.array([v is not None for v in predicted], dtype=float)
    figures["coverage"] = _figure(_mean_of(answered), n)
    if confidence is not None and any(c is not None for c in confidence):  # Claude tiers give none
        rated = [(c, _right(metric_type, e, p)) for e, p, c in zip(expected, predicted, confidence, strict=True)]
        rated = [(c, right) for c, right in rated if c is not None]
        scores = np.array([c for c, _ in rated], dtype=float)
        rights = np.array([right for _, right in rated], dtype=bool)
        figures["confidence_auroc"] = _figure(_auroc(scores, rights), len(rated), min_n=2)
    return Agreement(metric_type, figures, confusion)


def _right(metric_type: str, expected: Answer, predicted: Answer) -> bool:
    """Whether one answer is the labelled one (numbers: within 10 % of the labelled value's magnitude, or 0.5)."""
    if metric_type == "numerical":
        if not isinstance(expected, int | float) or not isinstance(predicted, int | float):
            return expected is None and predicted is None
        return abs(float(expected) - float(predicted)) <= max(0.5, 0.1 * abs(float(expected)))
    if metric_type == "text":
        return normalize_text(expected if isinstance(expected, str) else None) == normalize_text(
            predicted if isinstance(predicted, str) else None
        )
    if metric_type == "list":
        return set(expected or []) == set(predicted or [])  # type: ignore[arg-type]
    if metric_type == "boolean":
        return bool(expected) == bool(predicted)
    return expected == predicted


def _auroc(scores: np.ndarray, rights: np.ndarray) -> Stat:
    """The area under the ROC curve of ``scores`` separating right answers from wrong ones (Mann-Whitney U over
    average ranks, so ties count a half); NaN on a resample with only right or only wrong answers."""
    from scipy.stats import rankdata

    def stat(idx: np.ndarray) -> np.ndarray:
        ranks = rankdata(scores[idx], axis=1)
        positive = rights[idx]
        n_pos = positive.sum(axis=1)
        n_neg = idx.shape[1] - n_pos
        u = (ranks * positive).sum(axis=1) - n_pos * (n_pos + 1) / 2
        return _divide(u, (n_pos * n_neg).astype(float))

    return stat


def rater_ceiling(metric_type: str, by_rater: dict[str, dict[str, Answer]]) -> dict[str, Figure]:
    """How well the raters agree with each other: each figure of the type, averaged over every pair of raters on
    the conversations both labelled (n = the pairs of labels compared). The metric cannot be expected to agree with
    the labels better than the labellers agree among themselves. With two raters the interval is that pair's; with
    more, the mean of the pairs' bounds (an approximation, said so in the report)."""
    sums: dict[str, list[float]] = {}
    lows: dict[str, list[float]] = {}
    highs: dict[str, list[float]] = {}
    counts: dict[str, int] = {}
    for a, b in combinations(sorted(by_rater), 2):
        shared = sorted(set(by_rater[a]) & set(by_rater[b]))
        if len(shared) < 2:
            continue
        pair = agreement(metric_type, [by_rater[a][c] for c in shared], [by_rater[b][c] for c in shared])
        for name, fig in pair.figures.items():
            if name == "coverage" or fig.value is None:
                continue
            sums.setdefault(name, []).append(fig.value)
            lows.setdefault(name, []).append(fig.low if fig.low is not None else fig.value)
            highs.setdefault(name, []).append(fig.high if fig.high is not None else fig.value)
            counts[name] = counts.get(name, 0) + fig.n
    return {
        name: Figure(
            _round(float(np.mean(values))),
            _round(float(np.mean(lows[name]))),
            _round(float(np.mean(highs[name]))),
            counts[name],
        )
        for name, values in sums.items()
    }
