"""Text helpers of the free tier: lines, sentences, label names as words, package versions."""

from __future__ import annotations

import re
from functools import cache
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from typing import Any, NamedTuple


def _version(package: str) -> str:
    try:
        return package_version(package)
    except PackageNotFoundError:  # pragma: no cover - only when run from a source tree without metadata
        return "unknown"


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_ROLE_PREFIX = re.compile(r"^\s*(user|assistant|customer|agent)\s*:\s*", re.IGNORECASE)


def _sentences(text: str) -> list[str]:
    """Sentences of one line, verbatim (only the whitespace between them is dropped)."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


_GLUED = 9
"""A lower-case word this long or longer may be words written together ("getboardingpass"): it is split."""


def name_words(name: str) -> str:
    """``order_status``, ``orderStatus``, ``order-status`` and ``orderstatus`` all read as ``order status``."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", name)
    words = re.sub(r"[\W_]+", " ", spaced).strip().lower().split()
    return " ".join(part for word in words for part in _unglued(word))


@cache
def _unglued(word: str) -> tuple[str, ...]:
    """A long word split into the words it is glued from, by English word frequencies (wordninja ships them);
    kept whole when any part would be a single letter (a real long word)."""
    if len(word) < _GLUED or not word.isalpha():
        return (word,)
    import wordninja

    parts = _s_moved(wordninja.split(word), wordninja.DEFAULT_LANGUAGE_MODEL._wordcost)
    return parts if len(parts) > 1 and all(len(p) > 1 for p in parts) else (word,)


def _s_moved(parts: list[str], cost: dict[str, float]) -> tuple[str, ...]:
    """Glued words with an "s" at a boundary read as a base form and a word starting with it ("changes eat" →
    "change seat") where both are words and about as likely by wordninja's word costs (:data:`_S_MARGIN`): names
    are written as a verb and a noun ("changeseatassignment"), and frequencies alone prefer "changes eat" by a hair.
    A clearly likelier split stays ("sales team", not "sale steam")."""
    out = list(parts)
    for i in range(len(out) - 1):
        left, right = out[i], out[i + 1]
        base, noun = left[:-1], f"s{right}"
        if (
            len(left) > 2
            and left.endswith("s")
            and base in cost
            and noun in cost
            and cost[base] + cost[noun] - cost[left] - cost[right] < _S_MARGIN
        ):
            out[i], out[i + 1] = base, noun
    return tuple(out)


_S_MARGIN = 1.0
"""How much costlier (in wordninja's cost, a negative log frequency) the base-form split may be: within 1, the two
splits are less than e times apart in likelihood, which frequencies cannot decide ("change seat" costs 0.07 more
than "changes eat"; "sale steam" 3.9 more than "sales team")."""


def _normalize(text: str) -> str:
    return re.sub(r"[\W_]+", " ", text.lower()).strip()


def _as_text(value: str | float | None) -> str:
    """A value as text: numbers without a needless ``.0`` (``45``, ``45.5``)."""
    if value is None or isinstance(value, str):
        return value or ""
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(float(value))


def _words(text: str) -> list[str]:
    return text.split()


@cache
def _stop_words() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS)


def _dedupe(items: Any) -> list[str]:
    seen: list[str] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


_FUNCTION_WORDS = """
    a about above after again against all am an and any are as at be because been before being below between
    both but by can cannot could did do does doing don down during each either else etc ever every few for from
    further had has have having he her here hers herself him himself his how i if in into is it its itself just
    me might more most must my myself neither no nor not now of off often on once only or other our ours
    ourselves out over own please same shall she should so some such than that the their theirs them themselves
    then there these they this those through thus to too under until up upon us very was we were what when where
    whether which while who whom whose why will with within without would yet you your yours yourself yourselves
"""
FUNCTION_WORDS = frozenset(_FUNCTION_WORDS.split())
"""English function words: pronouns, determiners, prepositions, conjunctions, auxiliaries. Unlike scikit-learn's
stop words, they leave out no word of a request ("bill", "call", "amount", "move", "show", "find")."""
_APOSTROPHE = "['\u2019\u02bc]"
_CANT_WONT = re.compile(rf"\b(ca|wo)n{_APOSTROPHE}t\b", re.IGNORECASE)
_NT = re.compile(rf"n{_APOSTROPHE}t\b", re.IGNORECASE)


def _uncontracted(text: str) -> str:
    """``n't``, with any apostrophe, written out: "can't" as "cannot", "won't" as "will not", "doesn't" as "does
    not", so that they read as the words they stand for."""
    text = _CANT_WONT.sub(lambda m: "cannot" if m.group(1).lower() == "ca" else "will not", text)
    return _NT.sub(" not", text)


_DENIALS = """not never cannot unable cant couldnt doesnt dont didnt isnt wont wasnt arent havent hasnt"""
DENIALS = frozenset(_DENIALS.split())
"""Words that deny the action said after them ("not open", "unable to send", "can't find"), with the spellings
chats use without an apostrophe ("cant", "dont")."""
_NEGATIONS = DENIALS | {"no", "nor"}
"""Words :func:`content_words` keeps although they are function words: "not working", "no signal"."""


_COURTESY = """hi hii hai hey hello hiya good morning afternoon evening thanks thank thankyou welcome bye goodbye
    sir madam maam ok okay yes yeah yep sure calling contacting reaching help assist assistance today"""
COURTESY_WORDS = frozenset(_COURTESY.split())
"""Words said in a call whatever its reason: greetings, thanks, assent, offers of help ("thank you for calling, how
can I help you today?"). They name no request, so :func:`content_words` leaves them out, and a line of them only
says nothing."""


def content_words(text: str) -> str:
    """``text`` normalized (:func:`_normalize`, ``n't`` written out: :func:`_uncontracted`) without
    its function words, negations kept ("not working"): what :mod:`.classification`'s character n-grams compare,
    so that the "what is the" of a label's example does not meet every question an agent asks ("what is the
    quantity, please?" reached an ``information`` label described with "what is the status of my claim"). A text
    of function words only is kept whole. :data:`COURTESY_WORDS` are left out always: "good morning" says nothing."""
    words = _normalize(_uncontracted(text)).split()
    said = [w for w in words if w not in FUNCTION_WORDS or w in _NEGATIONS] or words
    return " ".join(w for w in said if w not in COURTESY_WORDS)


_SUBJECTS = frozenset({"i", "we", "you", "they", "he", "she", "to", "will", "can", "could", "would", "should"})
"""Words a verb follows ("I need", "to know", "can help"): the next word is read as a verb, not a noun."""


_NEGATION_REACH = 3
"""How many words after a negation its verb may stand ("not able to open", "unable to send")."""


class Term(NamedTuple):
    """A word of a request (:func:`request_terms`)."""

    word: str
    verb: bool
    """It stands where a verb stands (after "I", "to", "can"...)."""
    negated: bool
    """It is the first word that says something after a negation ("whatsapp not open", "can't log in")."""


def request_terms(text: str) -> list[Term]:
    """The words of a request that say something, lower-cased, in order (``n't`` written out); function
    words, denials (:data:`DENIALS`, which mark the word after them), words of one or two letters and "able" (in
    "not able to") are left out, and a word with a letter outside a-z is kept whole ("résumé", not "sum")."""
    words = re.findall(r"[^\W\d_]+", _uncontracted(text).lower())
    terms: list[Term] = []
    reach = 0
    for k, word in enumerate(words):
        if word in DENIALS:
            reach = _NEGATION_REACH
        elif word in FUNCTION_WORDS or len(word) <= 2 or word == "able":
            reach = max(0, reach - 1)
        else:
            terms.append(Term(word, k > 0 and words[k - 1] in _SUBJECTS, reach > 0))
            reach = 0
    return terms
