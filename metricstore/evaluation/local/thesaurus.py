"""Other words for what customers ask: a small thesaurus of customer-service requests, written from general
knowledge (not from any conversation), so that a label named in few words ("report broken software") also meets
the words a customer uses ("my app keeps crashing"). Only general request words are here (verbs such as cancel or
change, states such as broken or lost, business nouns such as bill or order); words for one business's objects
(seats, claims, routing numbers) were left out so as not to fit the benchmark's own label names."""

from __future__ import annotations

import re
from functools import cache

from metricstore.evaluation.local.text import FUNCTION_WORDS, request_terms

# word (as it appears in label names) → words and phrases that say the same in a request
THESAURUS: dict[str, str] = {
    "book": "reserve reservation ticket schedule",
    "reserve": "book reservation",
    "cancel": "stop end terminate close discontinue quit",
    "stop": "cancel end halt discontinue",
    "close": "cancel shut terminate end",
    "start": "new begin sign up set up open activate",
    "open": "new start create set up",
    "new": "start open another",
    "change": "modify switch update edit move different",
    "modify": "change edit update",
    "update": "change modify edit new version upgrade latest",
    "upgrade": "better faster higher bigger improve",
    "transfer": "move send switch",
    "move": "transfer relocate moving new address",
    "send": "transfer mail email",
    "view": "see show check look",
    "check": "see know what is status look",
    "get": "need receive send",
    "report": "problem issue",
    "broken": "not working crash crashing error damaged cracked fail failing stuck",
    "lost": "missing stolen lose cannot find misplaced",
    "stolen": "lost theft missing",
    "replace": "replacement new another damaged",
    "dispute": "wrong charge fraud unauthorized did not make refund",
    "charge": "charged payment fee transaction",
    "bill": "bills invoice statement amount due payment owe",
    "bills": "bill invoice statement payment",
    "balance": "how much money account",
    "info": "information details",
    "information": "details know about plans options",
    "status": "update where progress",
    "receipt": "invoice proof of purchase",
    "order": "buy purchase",
    "promotions": "deals discounts offers coupons",
    "offer": "deal promotion eligible qualify",
    "address": "moved moving location",
    "account": "profile details",
    "service": "plan connection subscription",
}


def synonyms(words: str) -> str:
    """The thesaurus entries of the words in ``words`` (lower-case, space-separated), deduplicated."""
    seen: list[str] = []
    for word in re.findall(r"[a-z]+", words):
        for other in THESAURUS.get(word, "").split():
            if other not in seen and other not in words.split():
                seen.append(other)
    return " ".join(seen)


@cache
def _heads() -> dict[str, tuple[str, ...]]:
    """Every word of an entry (less function words: "up", "of", "not" say nothing alone) → the head words whose
    entry holds it ("crashing" → broken; "terminate" → cancel, close)."""
    heads: dict[str, list[str]] = {}
    for head, entry in THESAURUS.items():
        for word in re.findall(r"[a-z]+", entry):
            if word not in FUNCTION_WORDS and head not in heads.setdefault(word, []):
                heads[word].append(head)
    return {word: tuple(found) for word, found in heads.items()}


def request_words(text: str) -> str:
    """The head words the thesaurus has for the words of ``text`` (:func:`~.text.request_terms`), deduplicated,
    less those the text already holds: the request said in the words label names use ("my app keeps crashing" →
    broken)."""
    words = [word for word, _ in request_terms(text)]
    heads = _heads()
    found: list[str] = []
    for word in words:
        for head in heads.get(word, ()):
            if head not in found and head not in words:
                found.append(head)
    return " ".join(found)
