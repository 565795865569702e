"""``ai_classify`` of the free tier."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from metricstore.definitions import ClassLabel
from metricstore.evaluation.local.text import _lines, _normalize, _sentences, name_words
from metricstore.evaluation.local.thesaurus import synonyms

CLASSIFY_THRESHOLD = 0.30
"""Best single-line cosine similarity a label needs to apply. Chosen on the MultiDoGO train split: the cut that
best separates a conversation scored against its own domain's intents from the same conversation scored against
another domain's (balanced accuracy) was 0.32 with described labels and 0.28 with bare names; 0.30 sits between
(the dev split gives the same two cuts)."""
POSITION_DECAY = 0.6
"""Weight of line i is POSITION_DECAY**i. MultiDoGO train split: accuracy 0.755 without decay, 0.81-0.82 for any
decay in 0.5-0.7; character 4-6-grams beat 3-5-grams and word n-grams there too (word n-grams miss glued names
such as ``getboardingpass``)."""

CLASSIFY_MODEL = "local/tfidf-classifier/2"


_NAMING_WORDS = frozenset({"intent", "intents", "label", "class", "category", "reason", "type"})
"""Words a label's name may carry that say nothing of its meaning ("orderpizzaintent")."""


def label_document(label: str | ClassLabel) -> str:
    """What a label is matched on: its name as words (less naming words) and its description and example phrases;
    a bare name also other words for its words (:mod:`.thesaurus`). Described labels are left as their author
    wrote them: measured, the thesaurus did not help them and, making their documents longer, lowered the best
    line's similarity (more answers not applicable)."""
    name = label if isinstance(label, str) else label.name
    words = [w for w in name_words(name).split() if w not in _NAMING_WORDS] or name_words(name).split()
    if isinstance(label, str):  # a bare name: the thesaurus lends it the words a description would give
        return " . ".join([" ".join(words), *[s for s in [synonyms(" ".join(words))] if s]])
    return " . ".join([" ".join(words), label.description, *label.examples])


def _label_name(label: str | ClassLabel) -> str:
    return label if isinstance(label, str) else label.name


@lru_cache(maxsize=512)
def _label_model(documents: tuple[str, ...]) -> tuple[Any, Any]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(4, 6), sublinear_tf=True, preprocessor=_normalize)
    return vectorizer, vectorizer.fit_transform(documents)


@dataclass(frozen=True)
class LabelScore:
    """One label against a text: ``score`` ranks (position-weighted mean over lines), ``peak`` decides whether
    it applies (its best single line, ``peak_line``)."""

    name: str
    score: float
    peak: float
    peak_line: int


def label_similarities(texts: Sequence[str], labels: Sequence[str | ClassLabel]) -> Any:
    """Cosine similarity of every text (row) with every label (column), as a dense array."""
    vectorizer, matrix = _label_model(tuple(label_document(label) for label in labels))
    return (vectorizer.transform(list(texts)) @ matrix.T).toarray()


def rank_labels(sims: Any, labels: Sequence[str | ClassLabel], *, decay: float = POSITION_DECAY) -> list[LabelScore]:
    """Labels ranked from their similarity rows (:func:`label_similarities`), best first: the score is the mean
    over lines weighted ``decay ** i``, the peak the best single line; ties keep the labels' order."""
    n = sims.shape[0]
    weights = [decay**i for i in range(n)]
    total = sum(weights)
    scored = []
    for j, label in enumerate(labels):
        column = [float(sims[i, j]) for i in range(n)]
        mean = sum(w * s for w, s in zip(weights, column, strict=True)) / total
        peak_line = max(range(n), key=lambda i: (column[i], -i))
        scored.append(LabelScore(_label_name(label), round(mean, 4), round(column[peak_line], 4), peak_line))
    order = sorted(range(len(scored)), key=lambda j: (-scored[j].score, j))
    return [scored[j] for j in order]


def score_labels(segments: Sequence[str], labels: Sequence[str | ClassLabel]) -> list[LabelScore]:
    """Every label's scores against the segments (lines or turns), best first; ties keep the labels' order."""
    if not labels:
        return []
    texts = [s for s in segments if s.strip()]
    if not texts:
        return [LabelScore(_label_name(label), 0.0, 0.0, -1) for label in labels]
    return rank_labels(label_similarities(texts, labels), labels)


def classify_confidence(ranked: Sequence[LabelScore]) -> float:
    """How sure the answer of :func:`score_labels`' ranking is, in [0, 1]. When the top label applies: its score's
    relative margin over the runner-up ((top - second) / top; 1 with a single label). When none applies: how far
    the best line stays below :data:`CLASSIFY_THRESHOLD`, relative to it."""
    if not ranked:
        return 0.0
    best = ranked[0]
    if best.peak < CLASSIFY_THRESHOLD:
        return round(min(1.0, max(0.0, (CLASSIFY_THRESHOLD - best.peak) / CLASSIFY_THRESHOLD)), 4)
    if len(ranked) == 1:
        return 1.0
    if best.score <= 0:
        return 0.0
    return round(min(1.0, max(0.0, (best.score - ranked[1].score) / best.score)), 4)


def classify(text: str, labels: Sequence[str | ClassLabel]) -> tuple[str | None, float]:
    """(best label or None, its best single-line similarity): None when that similarity is below
    :data:`CLASSIFY_THRESHOLD` (the text is about none of the labels)."""
    ranked = score_labels(_lines(text), labels)
    if not ranked:
        return None, 0.0
    best = ranked[0]
    return (best.name if best.peak >= CLASSIFY_THRESHOLD else None), best.peak


def _best_sentence(turn: str, labels: Sequence[str | ClassLabel], name: str) -> str:
    sentences = _sentences(turn)
    if len(sentences) <= 1:
        return turn.strip()
    column = next(i for i, label in enumerate(labels) if _label_name(label) == name)
    vectorizer, matrix = _label_model(tuple(label_document(label) for label in labels))
    sims = (vectorizer.transform(sentences) @ matrix[column].T).toarray()[:, 0]
    return sentences[max(range(len(sentences)), key=lambda i: (float(sims[i]), -i))]
