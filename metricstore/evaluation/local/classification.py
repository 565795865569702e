"""``ai_classify`` of the free tier."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from metricstore.definitions import ClassLabel
from metricstore.evaluation.local.hypernyms import HYPERNYM_LEVELS, kinds_of
from metricstore.evaluation.local.text import _lines, _sentences, _version, content_words, name_words
from metricstore.evaluation.local.thesaurus import request_words, synonyms

CLASSIFY_THRESHOLD = 0.38
"""Best single-line similarity (:func:`label_similarities`) a label needs to apply: the choice of the MultiDoGO
bench's leave-one-domain-out cross-validation on all six domains (the cut that best separates a conversation scored
against its own domain's intents from the same conversation scored against another domain's, worst label set;
0.36-0.46 per fold, full run). 0.30 was shipped before a described label was also matched on its best part, because
broad described labels (the demo's ``contact_reason``) reached less high; on the same demo calls they now do (not
applicable for 199 of 898 at 0.30, 202 at 0.38, the same calibration accuracy), and the higher cut keeps an agent's
"can I have your account number?" from adding an account label to a ``list`` metric."""
POSITION_DECAY = 0.6
"""Weight of the customer's turn i is POSITION_DECAY**i (:func:`line_weights`): the opening request says most. The
MultiDoGO bench's leave-one-domain-out cross-validation chooses 0.6 on all six domains with the shipped hypernym
blend (0.5 to 0.7 per fold); character 4-6-grams beat 3-5-grams and word n-grams there too (word n-grams miss glued
names such as ``getboardingpass``)."""

AGENT_WEIGHT = 0.5
"""Weight of an agent's line, beside the customer turn it follows (:func:`line_weights`). The customer says why
they got in touch; the agent's lines restate it ("I can help you with booking a flight") or ask for details ("can
you tell me your account number?", which met an ``account_access`` label in calls about a balance). Set by that
reasoning, not tuned: no labelled two-sided conversations that may ship exist here (MultiDoGO holds the customer's
turns only, so its bench is unchanged by it). Only the ranking weighs the agent less: whether a label applies is its
best line, whoever said it, since the agent's restatement is what makes many calls answerable (weighed in that too,
56% of the demo's generated calls were not applicable rather than 38%); so an agent's question can still add a
label to a ``list`` metric."""

KINDS_WEIGHT = 1 / 4
"""Weight, for a bare label name, of the text read with what its nouns are kinds of (:func:`kinds_similarities`);
the text as read keeps the rest. Chosen with :data:`~.hypernyms.HYPERNYM_LEVELS` by the MultiDoGO bench's
leave-one-domain-out cross-validation from 1/4, 1/3, 1/2 and 2/3: 1/4 on all six domains (four folds 1/4, two 1/3)
since buying reads as starting (:mod:`.thesaurus`); 1/3 before that, 1/2 before "get" was no word of a name's meaning
(:data:`_NAMING_WORDS`). A grid reaching down to 1/8 chose 1/8 at 4 levels, for the same accuracy (names 0.817
against 0.816), but let a single "-tion" ("question") carry an unrelated line over the threshold for the one-word
label "cancellation" (``test_a_catch_all_label_answers_when_no_other_applies``): the grid stays at 1/4 and up."""

CLASSIFY_MODEL = f"local/tfidf-classifier/8+vader-{_version('vaderSentiment')}"
"""The classifier's name in answers and cache keys: VADER's lexicon decides which denied words are moods
(:func:`~.thesaurus._read_as`)."""


_CATCH_ALL = frozenset(
    {"other", "others", "misc", "miscellaneous", "unknown", "none", "none of the above", "something else"}
)
"""Label names (as words) that mean "none of the others": such a label is not matched by similarity (its name
says nothing a customer says) but answers when no other label applies (:func:`is_catch_all`)."""


def is_catch_all(label: str | ClassLabel) -> bool:
    """Whether the label is a catch-all ("other", "misc", "none of the above"...: :data:`_CATCH_ALL`)."""
    return name_words(_label_name(label)) in _CATCH_ALL


_NAMING_WORDS = frozenset({"intent", "intents", "label", "class", "category", "reason", "type", "get"})
"""Words a label's name may carry that say nothing of its meaning ("orderpizzaintent"). "get" is one: a name made of
"get" and a noun ("getseatinfo", "getchannelpackage") is about the noun, and the thesaurus reads a customer's "I
need" as get, so "I need internet" met every get-label of a domain alike and ranked them above "startservice".
MultiDoGO, bare names, leave-one-domain-out: 0.787 → 0.800 (media 0.725 → 0.788)."""


def label_document(label: str | ClassLabel) -> str:
    """What a label's author wrote, as matched: its name as words (less naming words), and its description and
    example phrases when it has them."""
    if isinstance(label, str):
        return _name_words(label)
    return " . ".join([_name_words(label.name), label.description, *label.examples])


def thesaurus_document(label: str | ClassLabel) -> str:
    """A label's name as words and the other words :mod:`.thesaurus` has for them ("cancel" → stop, end, ...)."""
    words = _name_words(_label_name(label))
    return " . ".join([words, *[s for s in [synonyms(words)] if s]])


def _name_words(name: str) -> str:
    words = [w for w in name_words(name).split() if w not in _NAMING_WORDS] or name_words(name).split()
    return " ".join(words)


def _label_name(label: str | ClassLabel) -> str:
    return label if isinstance(label, str) else label.name


def label_parts(label: ClassLabel) -> list[str]:
    """A described label's parts, each also matched alone (:func:`_similarities`): its name as words, its
    description, and each example."""
    return [_name_words(label.name), label.description, *label.examples]


@lru_cache(maxsize=512)
def _label_model(
    written: tuple[str, ...], thesaurus: tuple[str, ...], parts: tuple[str, ...]
) -> tuple[Any, Any, Any | None, Any | None]:
    """The vectorizer, fitted on the labels' written documents and the bare names' thesaurus documents
    (``thesaurus``), and the matrices of the two sets and of the described labels' ``parts``."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(4, 6), sublinear_tf=True, preprocessor=content_words)
    vectorizer.fit(written + thesaurus)
    return (
        vectorizer,
        vectorizer.transform(list(written)),
        vectorizer.transform(list(thesaurus)) if thesaurus else None,
        vectorizer.transform(list(parts)) if parts else None,
    )


@dataclass(frozen=True)
class LabelScore:
    """One label against a text: ``score`` ranks (position-weighted mean over lines), ``peak`` decides whether
    it applies (its best single line, ``peak_line``)."""

    name: str
    score: float
    peak: float
    peak_line: int


def label_similarities(texts: Sequence[str], labels: Sequence[str | ClassLabel]) -> Any:
    """Similarity of every text (row) with every label (column), as a dense array: :func:`read_similarities`,
    and for a bare label name blended with the text read with what its nouns are kinds of
    (:func:`kinds_similarities`, :func:`blend_kinds`)."""
    read = read_similarities(texts, labels)
    if all(isinstance(label, ClassLabel) for label in labels):
        return read
    return blend_kinds(read, kinds_similarities(texts, labels, HYPERNYM_LEVELS, read), labels, KINDS_WEIGHT)


def read_similarities(texts: Sequence[str], labels: Sequence[str | ClassLabel]) -> Any:
    """The mean of every text's similarity as said and as the thesaurus reads it (:func:`_similarities` of the
    text and of the text with its :func:`~.thesaurus.request_words`, "my app keeps crashing" also as "broken"),
    so that a customer's words meet the words labels are written in. MultiDoGO, leave-one-domain-out (400
    conversations per domain): names 0.755 → 0.766, own 0.837 → 0.840, terse 0.775 → 0.820; the read text alone
    (no mean) did worse on every set.

    Only the head words some label's text holds are added (:func:`_label_word_stems`): one that no label holds can
    meet none and only dilutes the line's similarity with the label it is about. A request for a thing read as
    "start" had put 27 of the demo's pizza orders (8%) under none of its five labels, none of which says start
    (all 11,929 MultiDoGO conversations, shipped knobs, same accuracy to 0.002 on each label set)."""
    held = _label_word_stems(
        tuple(label_document(label) for label in labels),
        tuple(thesaurus_document(label) for label in labels if isinstance(label, str)),
    )
    read, changed = _with_words(
        texts, lambda text: " ".join(w for w in request_words(text).split() if w[:_STEM] in held)
    )
    both = _similarities([*texts, *(read[i] for i in changed)], labels)  # one transform for both
    said = both[: len(texts)]
    said[changed] = (said[changed] + both[len(texts) :]) / 2
    return said


_STEM = 5
"""Letters of a word compared when a head word of the thesaurus is looked for in the labels' texts (bill → billing,
cancel → cancelling, start → started)."""


@lru_cache(maxsize=512)
def _label_word_stems(written: tuple[str, ...], thesaurus: tuple[str, ...]) -> frozenset[str]:
    """The first :data:`_STEM` letters of every word of the labels' documents (:func:`label_document`, and a bare
    name's :func:`thesaurus_document`)."""
    return frozenset(word[:_STEM] for text in written + thesaurus for word in re.findall(r"[a-z]+", text.lower()))


def kinds_similarities(texts: Sequence[str], labels: Sequence[str | ClassLabel], levels: int, read: Any) -> Any:
    """:func:`read_similarities` of every text with what its nouns are kinds of (:func:`~.hypernyms.kinds_of`,
    ``levels`` up: "1 lemonade and 2 tea" also as beverage, drink); a text whose nouns WordNet does not know keeps
    its row of ``read``."""
    kinds = read.copy()
    extended, changed = _with_words(texts, lambda text: kinds_of(text, levels))
    if changed:
        kinds[changed] = read_similarities([extended[i] for i in changed], labels)
    return kinds


def _with_words(texts: Sequence[str], words_of: Callable[[str], str]) -> tuple[list[str], list[int]]:
    """Every text with the words ``words_of`` gives it appended (as a sentence of its own), and the indices of the
    texts that got any."""
    extended = [f"{text} . {extra}" if (extra := words_of(text)) else text for text in texts]
    return extended, [i for i, text in enumerate(texts) if extended[i] != text]


def blend_kinds(read: Any, kinds: Any, labels: Sequence[str | ClassLabel], weight: float) -> Any:
    """``read`` with its bare-name columns blended with ``kinds`` (``weight`` of it). Only bare names: a label's
    description and examples already say what it covers in its author's words (MultiDoGO, 400 per domain: bare
    names 0.766 → 0.789; the described sets, blended too, lost up to 0.04 in a domain)."""
    bare = [j for j, label in enumerate(labels) if isinstance(label, str)]
    blended = read.copy()
    if bare:
        blended[:, bare] = (1 - weight) * read[:, bare] + weight * kinds[:, bare]
    return blended


def _similarities(texts: list[str], labels: Sequence[str | ClassLabel]) -> Any:
    """Every text's cosine with what the label's author wrote (:func:`label_document`), averaged with a second
    cosine: for a bare name, with the name's other words (:func:`thesaurus_document`); for a described label, with
    the best of its parts (:func:`label_parts`). Two cosines, not one document: the thesaurus's words then do not
    dilute the name's own words (MultiDoGO, leave-one-domain-out, full run: bare names 0.735 → 0.752), and a line
    like one of a label's examples meets it without meeting all of them at once (label texts written by two
    others, never tuned on: 0.850 → 0.848 and 0.788 → 0.812; confidence AUROC 0.72 → 0.75 and 0.67 → 0.73)."""
    bare = [j for j, label in enumerate(labels) if isinstance(label, str)]
    described = [(j, label_parts(label)) for j, label in enumerate(labels) if isinstance(label, ClassLabel)]
    vectorizer, written, thesaurus, parts = _label_model(
        tuple(label_document(label) for label in labels),
        tuple(thesaurus_document(labels[j]) for j in bare),
        tuple(part for _, own_parts in described for part in own_parts),
    )
    queries = vectorizer.transform(texts)
    sims = (queries @ written.T).toarray()
    if thesaurus is not None:
        sims[:, bare] = (sims[:, bare] + (queries @ thesaurus.T).toarray()) / 2
    if parts is not None:
        starts = np.cumsum([0, *(len(p) for _, p in described[:-1])])
        best_part = np.maximum.reduceat((queries @ parts.T).toarray(), starts, axis=1)
        columns = [j for j, _ in described]
        sims[:, columns] = (sims[:, columns] + best_part) / 2
    return sims


def line_weights(customer: Sequence[bool], decay: float = POSITION_DECAY) -> Any:
    """Every line's weight in a label's score: ``decay ** k``, k the number of customer turns before the line (the
    opening request says most), times :data:`AGENT_WEIGHT` for an agent's line (``customer`` False). A transcript
    without a customer line is weighed line by line, ``decay ** i``, as if the customer's."""
    if not any(customer):
        return decay ** np.arange(len(customer))
    before = np.cumsum(customer) - np.asarray(customer, dtype=int)
    return decay**before * np.where(customer, 1.0, AGENT_WEIGHT)


def rank_labels(
    sims: Any,
    labels: Sequence[str | ClassLabel],
    *,
    decay: float = POSITION_DECAY,
    customer: Sequence[bool] | None = None,
) -> list[LabelScore]:
    """Labels ranked from their similarity rows (:func:`label_similarities`), best first: the score is the mean
    over lines weighted by :func:`line_weights` (every line the customer's when ``customer`` is None), the peak the
    best single line (the first of equals); ties keep the labels' order."""
    weights = line_weights([True] * sims.shape[0] if customer is None else customer, decay)
    means = weights @ sims / weights.sum()
    peak_lines = sims.argmax(axis=0)
    scored = [
        LabelScore(
            _label_name(label), round(float(means[j]), 4), round(float(sims[peak_lines[j], j]), 4), int(peak_lines[j])
        )
        for j, label in enumerate(labels)
    ]
    order = sorted(range(len(scored)), key=lambda j: (-scored[j].score, j))
    return [scored[j] for j in order]


def score_labels(
    segments: Sequence[str], labels: Sequence[str | ClassLabel], *, customer: Sequence[bool] | None = None
) -> list[LabelScore]:
    """Every label's scores against the segments (lines or turns; ``customer`` says which are the customer's, all
    when None), best first; ties keep the labels' order. ``peak_line`` indexes the non-blank segments."""
    if not labels:
        return []
    roles = [True] * len(segments) if customer is None else customer
    said = [(s, c) for s, c in zip(segments, roles, strict=True) if s.strip()]
    if not said:
        return [LabelScore(_label_name(label), 0.0, 0.0, -1) for label in labels]
    texts, said_roles = zip(*said, strict=True)
    return rank_labels(label_similarities(texts, labels), labels, customer=said_roles)


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
    sims = label_similarities(sentences, labels)[:, column]
    return sentences[max(range(len(sentences)), key=lambda i: (float(sims[i]), -i))]
