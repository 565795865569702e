"""The `free` tier measured the way a user meets it (python -m bench.free_tier [--quick]).

**MultiDoGO primary intent** (``multidogo/``, may ship): each conversation with a primary intent is classified,
from its customer turns, against the primary intents of its domain, with three label sets
(``bench/free_tier_labels.py``): the bare names, the project's own descriptions, and terse ones (one sentence and
two examples, written from the names without looking at conversations). The headline is the worst of the three.
Every knob is chosen by leave-one-domain-out cross-validation: for each domain, the position decay is the one
with the best worst-label-set accuracy on the five other domains, and the domain is scored with it; the
applicability threshold likewise (best worst-label-set balanced accuracy at telling a conversation scored
against its own domain's intents from the same conversation scored against another domain's). The shipped
constants are compared with the choice on all six domains. Confidence AUROC: how well the answer's confidence
ranks right answers above wrong ones, on the held-out predictions.

**USS dialogue sentiment** (``uss_satisfaction/``, read in place; it may not ship, and nothing is tuned on it):
the dialogue rating is the mean of the annotators' ``OVERALL`` ratings, rounded half up, 1–2 negative, 3 neutral,
4–5 positive. The free tier's cuts are set by reasoning (see ``metricstore/evaluation/local/sentiments.py``), so
every USS figure is a held-out one; per part (SGD, MWOZ) and overall, beside always-neutral.

**Extraction** (``bench/free_tier_extract.py``): precision and recall per field type against MultiDoGO's slots.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

from bench.free_tier_ceiling import half_the_negatives, raters_ceiling, trained_on_uss
from bench.free_tier_common import (
    DATASETS,
    SENTIMENTS,
    accuracy,
    against_always_neutral,
    auroc,
    customer_text,
    customer_turns,
    macro_f1,
    per_class,
    rating_sentiment,
    read_jsonl,
    shown,
)
from bench.free_tier_extract import extraction
from bench.free_tier_labels import LABEL_SETS, OWN, TERSE
from bench.free_tier_summary import summary
from metricstore.definitions import ClassLabel
from metricstore.evaluation.local import (
    CLASSIFY_MODEL,
    CLASSIFY_THRESHOLD,
    EXTRACT_MODEL,
    NEGATIVE_THRESHOLD,
    POSITION_DECAY,
    POSITIVE_THRESHOLD,
    SENTIMENT_MODEL,
)
from metricstore.evaluation.local.classification import (
    KINDS_WEIGHT,
    blend_kinds,
    classify_confidence,
    kinds_similarities,
    label_similarities,
    rank_labels,
    read_similarities,
)
from metricstore.evaluation.local.hypernyms import HYPERNYM_LEVELS
from metricstore.evaluation.local.sentiments import compound, dialogue_score, sentiment_confidence, sentiment_label

__all__ = ["DATASETS", "MULTIDOGO_INTENTS", "customer_text", "macro_f1", "multidogo_labels", "rating_sentiment"]

MULTIDOGO_INTENTS = OWN  # the project's own descriptions (the name the tests and older notes use)
QUICK_PER_DOMAIN = 100
DECAYS = (0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
# (hypernym levels, weight) of a bare name's blend with its text read with what its nouns are kinds of; (0, 0.0)
# is no blend
KINDS = ((0, 0.0), *((levels, weight) for levels in (1, 2, 3, 4) for weight in (0.25, 1 / 3, 0.5, 2 / 3)))
SHIPPED_KINDS = (HYPERNYM_LEVELS, KINDS_WEIGHT)
Knob = TypeVar("Knob")
THRESHOLDS = tuple(round(0.1 + 0.02 * k, 2) for k in range(21))  # 0.10 … 0.50


def multidogo_labels(domain: str, intents: Sequence[str], *, described: bool | str = True) -> list[str | ClassLabel]:
    """The label set for ``intents`` of ``domain``: ``"own"`` (or True) descriptions, ``"terse"`` ones, or the
    bare ``"names"`` (or False)."""
    kind = "own" if described is True else "names" if described is False else described
    if kind == "names":
        return list(intents)
    texts = OWN if kind == "own" else TERSE
    known = texts[domain]
    return [ClassLabel(name=i, description=known[i][0], examples=known[i][1]) if i in known else i for i in intents]


# --- MultiDoGO intent -------------------------------------------------------------------------------------------


def _intent_rows(path: Path, quick: bool) -> tuple[dict[str, list[dict[str, Any]]], dict[str, list[str]]]:
    rows = sorted(read_jsonl(path), key=lambda r: r["conversation_id"])
    by_domain: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        if r["labels"]["primary_intent"] and customer_turns(r):
            by_domain.setdefault(r["domain"], []).append(r)
    if quick:
        by_domain = {d: rs[:QUICK_PER_DOMAIN] for d, rs in by_domain.items()}
    intents = {d: sorted({r["labels"]["primary_intent"] for r in rs}) for d, rs in by_domain.items()}
    return by_domain, intents


def _scored(
    by_domain: dict[str, list[dict[str, Any]]], intents: dict[str, list[str]]
) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """(label set, domain) → per conversation: gold, and per (hypernym levels, weight, decay) the top label, its
    confidence and the best line's similarity; and the best line's similarity to its own domain's labels and to
    the next domain's (the shipped method)."""
    domains = sorted(by_domain)
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for kind in LABEL_SETS:
        for k, domain in enumerate(domains):
            labels = multidogo_labels(domain, intents[domain], described=kind)
            other = domains[(k + 1) % len(domains)]
            other_labels = multidogo_labels(other, intents[other], described=kind)
            bare = any(isinstance(label, str) for label in labels)
            rows = [customer_turns(r) for r in by_domain[domain]]
            turns = [t for conversation in rows for t in conversation]  # similarities are per line: one batch
            read = read_similarities(turns, labels)
            kinds = {levels: kinds_similarities(turns, labels, levels, read) for levels in {lv for lv, _ in KINDS}}
            other_sims = label_similarities(turns, other_labels)
            items = []
            start = 0
            for r, conversation in zip(by_domain[domain], rows, strict=True):
                lines = slice(start, start + len(conversation))
                start += len(conversation)
                by: dict[tuple[int, float, float], tuple[str, float, float]] = {}
                for levels, weight in KINDS if bare else [(0, 0.0)]:
                    sims = blend_kinds(read[lines], kinds[levels][lines], labels, weight)
                    for decay in DECAYS:
                        ranked = rank_labels(sims, labels, decay=decay)
                        by[levels, weight, decay] = (ranked[0].name, classify_confidence(ranked), ranked[0].peak)
                if not bare:  # the blend touches bare names only: every variant ranks as the text read
                    by |= {(lv, w, d): by[0, 0.0, d] for lv, w in KINDS for d in DECAYS}
                shipped = blend_kinds(read[lines], kinds[HYPERNYM_LEVELS][lines], labels, KINDS_WEIGHT)
                items.append(
                    {
                        "gold": r["labels"]["primary_intent"],
                        "split": r["source"].get("split"),
                        "by": by,
                        "own_peak": float(shipped.max()),
                        "other_peak": float(other_sims[lines].max()),
                    }
                )
            out[kind, domain] = items
    return out


def _accuracy_at(items: Sequence[dict[str, Any]], knobs: tuple[int, float, float]) -> float:
    return accuracy([i["gold"] for i in items], [i["by"][knobs][0] for i in items])


def _balanced_at(items: Sequence[dict[str, Any]], cut: float) -> float:
    accepted = sum(i["own_peak"] >= cut for i in items) / len(items)
    rejected = sum(i["other_peak"] < cut for i in items) / len(items)
    return round((accepted + rejected) / 2, 4)


def _choose(pool: dict[str, list[dict[str, Any]]], grid: Sequence[Knob], figure: Any) -> Knob:
    """The grid value with the best worst-label-set figure on the pooled conversations (ties: the first)."""
    return max(grid, key=lambda v: min(figure(pool[kind], v) for kind in LABEL_SETS))


def _choose_knobs(pool: dict[str, list[dict[str, Any]]]) -> tuple[int, float, float]:
    """(hypernym levels, weight, decay): the decay with the shipped blend, then the blend at that decay."""
    decay = _choose(pool, DECAYS, lambda items, d: _accuracy_at(items, (*SHIPPED_KINDS, d)))
    levels, weight = _choose(pool, KINDS, lambda items, k: _accuracy_at(items, (*k, decay)))
    return levels, weight, decay


def _confidence_figures(held: Sequence[tuple[str, str, float, float]]) -> dict[str, Any]:
    """How well the product's confidence ranks its right answers above its wrong ones. The product answers the top
    label when its best line reaches the shipped threshold and "not applicable" otherwise, with a confidence of
    that answer (:func:`classify_confidence`); every MultiDoGO conversation has an intent of its domain, so "not
    applicable" is a wrong answer here. Figures over every answer, and over the applicable ones alone."""
    answered = [(g, p, c) for g, p, c, peak in held if peak >= CLASSIFY_THRESHOLD]
    return {
        "confidence_auroc": auroc(
            [c for _, _, c, _ in held], [g == p and peak >= CLASSIFY_THRESHOLD for g, p, _, peak in held]
        ),
        "applicable_share": round(len(answered) / len(held), 4),
        "accuracy_of_applicable": accuracy([g for g, _, _ in answered], [p for _, p, _ in answered]),
        "confidence_auroc_of_applicable": auroc([c for _, _, c in answered], [g == p for g, p, _ in answered]),
    }


def multidogo(datasets: Path, quick: bool = False) -> dict[str, Any]:
    path = datasets / "multidogo" / "conversations.jsonl.gz"
    if not path.is_file():
        return {"skipped": f"{path} not found (the shared datasets sit beside the repository)"}
    started = time.perf_counter()
    by_domain, intents = _intent_rows(path, quick)
    domains = sorted(by_domain)
    scored = _scored(by_domain, intents)

    def pooled(chosen: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        return {kind: [i for d in chosen for i in scored[kind, d]] for kind in LABEL_SETS}

    per_domain: dict[str, Any] = {}
    held: dict[str, list[tuple[str, str, float, float]]] = {kind: [] for kind in LABEL_SETS}
    for domain in domains:
        rest = pooled([d for d in domains if d != domain])
        knobs = _choose_knobs(rest)
        cut = _choose(rest, THRESHOLDS, _balanced_at)
        figures: dict[str, Any] = {"conversations": len(by_domain[domain]), "intents": len(intents[domain])}
        figures |= {
            "decay_chosen_on_other_domains": knobs[2],
            "hypernym_levels_chosen_on_other_domains": knobs[0],
            "kinds_weight_chosen_on_other_domains": round(knobs[1], 3),
            "threshold_chosen_on_other_domains": cut,
        }
        gold = [i["gold"] for i in scored["own", domain]]
        majority = Counter(gold).most_common(1)[0][0]
        figures["majority_baseline"] = {"label": majority, "accuracy": accuracy(gold, [majority] * len(gold))}
        for kind in LABEL_SETS:
            items = scored[kind, domain]
            predicted = [i["by"][knobs][0] for i in items]
            figures[kind] = {
                "accuracy": accuracy(gold, predicted),
                "macro_f1": macro_f1(gold, predicted),
                "rejection_balanced_accuracy": _balanced_at(items, cut),
            }
            held[kind] += [(i["gold"], *i["by"][knobs]) for i in items]
        figures["worst_accuracy"] = min(figures[kind]["accuracy"] for kind in LABEL_SETS)
        per_domain[domain] = figures
    overall: dict[str, Any] = {}
    for kind in LABEL_SETS:
        gold = [g for g, _, _, _ in held[kind]]
        predicted = [p for _, p, _, _ in held[kind]]
        overall[kind] = {
            "accuracy": accuracy(gold, predicted),
            "macro_f1": macro_f1(gold, predicted),
        } | _confidence_figures(held[kind])
    worst = min(LABEL_SETS, key=lambda kind: overall[kind]["accuracy"])
    everything = pooled(domains)
    chosen_everywhere = _choose_knobs(everything)
    return {
        "dataset": shown(path),
        "quick": quick,
        "conversations": sum(len(v) for v in by_domain.values()),
        "label_sets": {
            "names": "the bare intent names",
            "own": "the project's descriptions, written from the names (bench/free_tier_labels.py OWN)",
            "terse": "one sentence + two examples per intent, from the names, not the conversations (TERSE)",
        },
        "cross_validation": "leave one domain out: knobs chosen on the five other domains, the domain scored",
        "overall": overall,
        "worst_label_set": worst,
        "worst_accuracy": overall[worst]["accuracy"],
        "per_domain_worst_accuracy_range": [
            min(d["worst_accuracy"] for d in per_domain.values()),
            max(d["worst_accuracy"] for d in per_domain.values()),
        ],
        "knobs": {
            "shipped": {
                "position_decay": POSITION_DECAY,
                "hypernym_levels": HYPERNYM_LEVELS,
                "kinds_weight": round(KINDS_WEIGHT, 3),
                "threshold": CLASSIFY_THRESHOLD,
            },
            "chosen_on_all_domains": {
                "position_decay": chosen_everywhere[2],
                "hypernym_levels": chosen_everywhere[0],
                "kinds_weight": round(chosen_everywhere[1], 3),
                "threshold": _choose(everything, THRESHOLDS, _balanced_at),
            },
            "decay_grid": list(DECAYS),
            "kinds_grid": [[levels, round(weight, 3)] for levels, weight in KINDS],
            "threshold_grid": [THRESHOLDS[0], THRESHOLDS[-1], 0.02],
        },
        "per_domain": per_domain,
        "seconds": round(time.perf_counter() - started, 1),
    }


# --- USS sentiment ----------------------------------------------------------------------------------------------


def uss(datasets: Path, quick: bool = False) -> dict[str, Any]:
    path = datasets / "uss_satisfaction" / "conversations.jsonl"
    if not path.is_file():
        return {"skipped": f"{path} not found (USS is read from ../shared only; it may not ship)"}
    started = time.perf_counter()
    rows = sorted(read_jsonl(path), key=lambda r: r["conversation_id"])
    gold, predicted, confidence, parts, scores, lowest = [], [], [], [], [], []
    for r in rows:
        turns = customer_turns(r)
        score = dialogue_score(turns)
        gold.append(rating_sentiment(r["labels"]["overall_satisfaction_ratings"]))
        predicted.append(sentiment_label(score))
        confidence.append(sentiment_confidence(score))
        parts.append(r["domain"])
        scores.append(score)
        lowest.append(min((compound(t) for t in turns if t.strip()), default=0.0))

    def figures(idx: Sequence[int]) -> dict[str, Any]:
        g, p = [gold[i] for i in idx], [predicted[i] for i in idx]
        f1, neutral = against_always_neutral(g, p)
        return {
            "dialogues": len(idx),
            "macro_f1": f1,
            "always_neutral_macro_f1": neutral,
            "ratio_to_always_neutral": round(f1 / neutral, 3) if neutral else None,
            "accuracy": accuracy(g, p),
            "per_class": {c: per_class(g, p, c) for c in SENTIMENTS},
            "gold_distribution": dict(sorted(Counter(g).items())),
            "predicted_distribution": dict(sorted(Counter(p).items())),
            "confidence_auroc": auroc([confidence[i] for i in idx], [gold[i] == predicted[i] for i in idx]),
        }

    return {
        "dataset": shown(path),
        "mapping": "mean of the OVERALL ratings, rounded half up: 1-2 negative, 3 neutral, 4-5 positive",
        "text": "customer (USER) turns; score = the free tier's dialogue score (sentiment.dialogue_score)",
        "thresholds": {"positive": POSITIVE_THRESHOLD, "negative": NEGATIVE_THRESHOLD, "chosen_on": "none (reasoned)"},
        "all": figures(range(len(gold))),
        "per_part": {p: figures([i for i, q in enumerate(parts) if q == p]) for p in ("sgd", "mwoz")},
        "wording_separates_negatives": _wording(gold, scores, lowest),
        "ceilings": {
            "raters": raters_ceiling([r["labels"]["overall_satisfaction_ratings"] for r in rows], predicted),
            "trained_on_uss": trained_on_uss(rows, gold),
            "free_tier_half_the_negatives": half_the_negatives([-x for x in scores], [g == "negative" for g in gold]),
        },
        "seconds": round(time.perf_counter() - started, 1),
    }


def _wording(gold: Sequence[str], scores: Sequence[float], lowest: Sequence[float]) -> dict[str, Any]:
    """How well the customer's words alone tell negative dialogues from the rest: AUROC of the dialogue score and
    of the lowest VADER score of a customer turn, and how many negatives and others a turn at or under a cut hits
    (a ceiling for any wording cue: nothing here is chosen)."""
    negative = [g == "negative" for g in gold]
    hits = {}
    for cut in (-0.05, -0.3, -0.5):
        hit = [low <= cut for low in lowest]
        hits[str(cut)] = {
            "negatives": sum(h and n for h, n in zip(hit, negative, strict=True)),
            "others": sum(h and not n for h, n in zip(hit, negative, strict=True)),
        }
    return {
        "negatives": sum(negative),
        "others": len(negative) - sum(negative),
        "auroc_dialogue_score": auroc([-x for x in scores], negative),
        "auroc_lowest_turn": auroc([-x for x in lowest], negative),
        "a_turn_at_or_under": hits,
    }


def multidogo_sentiment_shares(datasets: Path, quick: bool = False) -> dict[str, Any]:
    """What the free tier calls 13k customer-service chats (no sentiment labels: a sanity check of the cuts)."""
    path = datasets / "multidogo" / "conversations.jsonl.gz"
    if not path.is_file():
        return {"skipped": f"{path} not found"}
    rows = [r for r in read_jsonl(path) if customer_turns(r)]
    rows = rows[: QUICK_PER_DOMAIN * 6] if quick else rows
    labels = Counter(sentiment_label(dialogue_score(customer_turns(r))) for r in rows)
    return {"conversations": len(rows), "shares": {k: round(v / len(rows), 4) for k, v in sorted(labels.items())}}


# --- speed ------------------------------------------------------------------------------------------------------


def speed(datasets: Path) -> dict[str, Any]:
    """Milliseconds per conversation for the three free-tier modes together, on the shipped MultiDoGO sample."""
    from bench.free_tier_speed import milliseconds_per_conversation

    return milliseconds_per_conversation(datasets)


def run(quick: bool = False) -> dict[str, Any]:
    """Every figure of the free tier; ``{"skipped": reason}`` when the shared datasets are absent."""
    datasets = DATASETS
    if not datasets.is_dir():
        return {"skipped": f"{datasets} not found (the shared datasets sit beside the repository)"}
    started = time.perf_counter()
    result: dict[str, Any] = {
        "models": {"sentiment": SENTIMENT_MODEL, "classify": CLASSIFY_MODEL, "extract": EXTRACT_MODEL},
        "multidogo_primary_intent": multidogo(datasets, quick),
        "uss_dialogue_sentiment": uss(datasets, quick),
        "multidogo_sentiment_shares": multidogo_sentiment_shares(datasets, quick),
        "multidogo_extraction": extraction(datasets, quick, per_domain=QUICK_PER_DOMAIN * 3),
        "speed": speed(datasets),
    }
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


if __name__ == "__main__":
    import json

    outcome = run(quick="--quick" in sys.argv[1:])
    print(json.dumps(outcome, indent=2))
    print(summary(outcome), file=sys.stderr)
