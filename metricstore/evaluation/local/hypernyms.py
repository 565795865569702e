"""What a customer's nouns are kinds of, from WordNet 3.0 (``wordnet/hypernyms.tsv.gz``, built by
``scripts/build_hypernyms.py``): "2 lemonade and a tea" is also about a beverage, a drink, so that a bare label
name ("orderdrinkintent") meets the things customers name instead of its words."""

from __future__ import annotations

import gzip
from functools import cache
from importlib import resources

from metricstore.evaluation.local.text import request_terms

HYPERNYM_LEVELS = 2
"""Levels of hypernyms read (1: "lemonade" → ade; 2: + beverage, drink; 3: + food, nutrient, liquid; 4: + substance,
fluid; the table holds 4). Chosen by the MultiDoGO bench's leave-one-domain-out cross-validation
(``bench/free_tier.py``): 2 in all six folds and on all six domains; deeper levels reach abstractions."""


@cache
def _table() -> dict[str, str]:
    """noun → its hypernyms' one-word names, levels separated by ``|`` (WordNet's most frequent sense)."""
    raw = (resources.files("metricstore.evaluation.local") / "wordnet" / "hypernyms.tsv.gz").read_bytes()
    return dict(line.split("\t") for line in gzip.decompress(raw).decode("utf-8").splitlines())


def kinds_of(text: str, levels: int = HYPERNYM_LEVELS) -> str:
    """The words for what the nouns of ``text`` are kinds of, up to ``levels`` up, deduplicated, less the text's
    own words ("yes 1 lemonade and 2 tea" → "ade beverage drink drinkable potable ..."). Only words that say
    something (:func:`~.text.request_terms`) and do not stand where a verb stands ("I need", "to know": WordNet's
    nouns need and know are a condition and a cognition)."""
    terms = request_terms(text)
    words = {term.word for term in terms}
    table = _table()
    found: list[str] = []
    for term in terms:
        if term.verb:
            continue
        for level in table.get(term.word, "").split("|")[:levels]:
            found += [kind for kind in level.split() if kind not in found and kind not in words]
    return " ".join(found)
