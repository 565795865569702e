"""The `free` tier: local, offline and deterministic evaluation of AI metrics (no API key, no model download).

- ``ai_sentiment``: VADER (``vaderSentiment``, lexicon shipped in the package) over the customer's turns. The
  score is the mean VADER compound of the turns (one line per turn), in [-1, 1]; ``positive`` from
  :data:`POSITIVE_THRESHOLD`, ``negative`` from :data:`NEGATIVE_THRESHOLD` (chosen on USS, see
  ``bench/free_tier.py``).
- ``ai_classify``: TF-IDF over character n-grams (scikit-learn) between each transcript line and each label's
  name words, description and example phrases. The label with the best position-weighted mean similarity wins
  (earlier lines weigh more: the reason for a contact is usually stated first); it applies when its best single
  line reaches :data:`CLASSIFY_THRESHOLD`, else the answer is "not applicable".
- ``ai_extract``: typed fields found by patterns and well-kept parsers: dateparser (dates, relative ones against
  the conversation's time), phonenumbers (E.164), price-parser (amounts), and small heuristics for ids, names,
  numbers and text.
- ``ai_query`` needs a language model: the free tier answers it with an error.

The same input always gives the same output (``latency_ms`` aside, which is measured).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from datetime import time as dtime
from functools import cache, lru_cache
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from typing import Any

from metricstore.definitions import ClassLabel, ExtractField, MetricDefinition
from metricstore.evaluation.answers import apply_range
from metricstore.evaluation.base import Conversation, Evaluation, Turn

# --- thresholds (how they were chosen: bench/free_tier.py and its docstring) -------------------------------------

POSITIVE_THRESHOLD = 0.35
"""Mean compound at or above which the text is positive. Chosen on USS dialogue ratings: tuning on the SGD part
alone and on the MWOZ part alone both pick 0.35 (grid step 0.05). VADER's own ±0.05 labels nearly every polite
conversation positive ("thanks" alone scores 0.44)."""
NEGATIVE_THRESHOLD = -0.35
"""Mean compound at or below which the text is negative. USS has too few negative dialogues (27 of 1,000) to
measure it (any cut in [-0.45, -0.05] gives the same macro-F1), so it mirrors the positive cut: a report of a
problem ("I lost my card", -0.32) stays neutral, plain displeasure ("this is unacceptable", -0.46) is negative."""
CLASSIFY_THRESHOLD = 0.30
"""Best single-line cosine similarity a label needs to apply. Chosen on the MultiDoGO train split: the cut that
best separates a conversation scored against its own domain's intents from the same conversation scored against
another domain's (balanced accuracy) was 0.32 with described labels and 0.28 with bare names; 0.30 sits between
(the dev split gives the same two cuts)."""
POSITION_DECAY = 0.6
"""Weight of line i is POSITION_DECAY**i. MultiDoGO train split: accuracy 0.755 without decay, 0.81-0.82 for any
decay in 0.5-0.7; character 4-6-grams beat 3-5-grams and word n-grams there too (word n-grams miss glued names
such as ``getboardingpass``)."""

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


def _version(package: str) -> str:
    try:
        return package_version(package)
    except PackageNotFoundError:  # pragma: no cover - only when run from a source tree without metadata
        return "unknown"


SENTIMENT_MODEL = f"local/vader-{_version('vaderSentiment')}"
CLASSIFY_MODEL = "local/tfidf-classifier"
EXTRACT_MODEL = "local/extract"

# --- text helpers --------------------------------------------------------------------------------------------------

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_ROLE_PREFIX = re.compile(r"^\s*(user|assistant|customer|agent)\s*:\s*", re.IGNORECASE)


def _sentences(text: str) -> list[str]:
    """Sentences of one line, verbatim (only the whitespace between them is dropped)."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def name_words(name: str) -> str:
    """``order_status``, ``orderStatus`` and ``order-status`` all read as ``order status``."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", name)
    return re.sub(r"[\W_]+", " ", spaced).strip().lower()


def _normalize(text: str) -> str:
    return re.sub(r"[\W_]+", " ", text.lower()).strip()


def _as_text(value: str | float | None) -> str:
    """A value as text: numbers without a needless ``.0`` (``45``, ``45.5``)."""
    if value is None or isinstance(value, str):
        return value or ""
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(float(value))


# --- sentiment -----------------------------------------------------------------------------------------------------


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


# --- classification ------------------------------------------------------------------------------------------------


def label_document(label: str | ClassLabel) -> str:
    """What a label is matched on: its name as words, its description and its example phrases."""
    if isinstance(label, str):
        return name_words(label)
    return " . ".join([name_words(label.name), label.description, *label.examples])


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


def score_labels(segments: Sequence[str], labels: Sequence[str | ClassLabel]) -> list[LabelScore]:
    """Every label's scores against the segments (lines or turns), best first; ties keep the labels' order."""
    if not labels:
        return []
    texts = [s for s in segments if s.strip()]
    if not texts:
        return [LabelScore(_label_name(label), 0.0, 0.0, -1) for label in labels]
    vectorizer, matrix = _label_model(tuple(label_document(label) for label in labels))
    sims = (vectorizer.transform(texts) @ matrix.T).toarray()
    weights = [POSITION_DECAY**i for i in range(len(texts))]
    total = sum(weights)
    scored = []
    for j, label in enumerate(labels):
        column = [float(sims[i, j]) for i in range(len(texts))]
        mean = sum(w * s for w, s in zip(weights, column, strict=True)) / total
        peak_line = max(range(len(texts)), key=lambda i: (column[i], -i))
        scored.append(LabelScore(_label_name(label), round(mean, 4), round(column[peak_line], 4), peak_line))
    order = sorted(range(len(scored)), key=lambda j: (-scored[j].score, j))
    return [scored[j] for j in order]


def classify(text: str, labels: Sequence[str | ClassLabel]) -> tuple[str | None, float]:
    """(best label or None, its best single-line similarity): None when that similarity is below
    :data:`CLASSIFY_THRESHOLD` (the text is about none of the labels)."""
    ranked = score_labels(_lines(text), labels)
    if not ranked:
        return None, 0.0
    best = ranked[0]
    return (best.name if best.peak >= CLASSIFY_THRESHOLD else None), best.peak


# --- extraction ----------------------------------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return text.split()


_MONTH = (
    r"(?:january|february|march|april|may|june|july|august|september|october|november|december|"
    r"jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)\.?"
)
_WEEKDAY = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
_ORDINAL_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
_YEAR = r"(?:19|20)\d{2}"
_COUNT = r"(?:\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"
_DATE = re.compile(
    "|".join(
        [
            r"\b\d{4}-\d{1,2}-\d{1,2}\b",
            r"\b\d{1,2}/\d{1,2}(?:/\d{2,4})?\b",
            r"\b\d{1,2}\.\d{1,2}\.\d{2,4}\b",
            rf"\b{_MONTH}\s+(?:the\s+)?{_ORDINAL_DAY}\b(?:,?\s+{_YEAR}\b)?",
            rf"\b(?:the\s+)?{_ORDINAL_DAY}\s+(?:of\s+)?{_MONTH}(?:,?\s+{_YEAR}\b)?",
            rf"\b(?:(?:next|last|this|coming)\s+)?{_WEEKDAY}\b",
            r"\b(?:the\s+day\s+after\s+tomorrow|the\s+day\s+before\s+yesterday|today|tomorrow|tonight|yesterday)\b",
            rf"\bin\s+{_COUNT}\s+(?:days?|weeks?|months?|years?)\b",
            rf"\b{_COUNT}\s+(?:days?|weeks?|months?|years?)\s+ago\b",
            r"\b(?:next|last|this)\s+(?:week|month|year)\b",
            r"\bthe\s+(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)\b",
        ]
    ),
    re.IGNORECASE,
)
_BARE_ORDINAL = re.compile(r"^the\s+(\d{1,2})(?:st|nd|rd|th)$", re.IGNORECASE)
_TIME = re.compile(
    r"\b(\d{1,2})(?::(\d{2}))?\s*([ap])\.?\s?m\b\.?|\b(\d{1,2}):(\d{2})(?::\d{2})?\b|\b(\d{1,2})\s*o'?clock\b"
    r"|\b(noon|midday|midnight)\b",
    re.IGNORECASE,
)
_DATE_TIME_GAP = re.compile(r"^\s*(?:,|at|@|by|around|from|on)?\s*$", re.IGNORECASE)
_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
_SPOKEN_EMAIL = re.compile(
    r"\b([a-z0-9]+(?:\s+(?:dot|underscore)\s+[a-z0-9]+)*)\s+at\s+([a-z0-9-]+(?:\s+dot\s+[a-z0-9-]+)*"
    r"\s+dot\s+(?:com|net|org|edu|gov|io|co|uk|de|fr|ca|au|info|biz|us))\b",
    re.IGNORECASE,
)
_CURRENCY_WORDS = r"(?:dollars?|bucks|usd|euros?|eur|pounds?|gbp|cents?)"
_AMOUNT = re.compile(
    rf"(?:[$€£¥₹]|\b(?:usd|eur|gbp|us\$)\s?)\s?\d[\d,]*(?:\.\d+)?|\b\d[\d,]*(?:\.\d+)?\s?{_CURRENCY_WORDS}\b",
    re.IGNORECASE,
)
_ID = re.compile(r"(?<![\w@.])#?([A-Za-z0-9]+(?:-[A-Za-z0-9]+)*)(?![\w@])")
_NOT_ID = re.compile(
    r"^\d+(?:st|nd|rd|th|am|pm|s|k|m|gb|mb|kb|tb|kg|km|mi|mph|x|h|hr|hrs|min|mins|ms|yo|p|d)$", re.IGNORECASE
)
_NUMBER = re.compile(r"(?<![\w.,$€£])[-+]?\d+(?:,\d{3})*(?:\.\d+)?(?![\w]|[.,]\d)")
_NUMBER_WORDS = {
    word: value
    for value, word in enumerate(
        _words(
            "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
            "seventeen eighteen nineteen twenty"
        )
    )
} | {"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "a dozen": 12}
_NUMBER_WORD = re.compile(r"\b(" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + r")\b", re.IGNORECASE)
_NAME_INTRO = re.compile(
    r"\b(?:(?P<strong>my\s+(?:full\s+|first\s+|last\s+)?name(?:\s+is|'s)?|the\s+name\s+is|name\s+on\s+the\s+"
    r"account\s+is|call\s+me)|(?P<weak>this\s+is|it's|it\s+is|i'm|i\s+am))\s+",
    re.IGNORECASE,
)
_NAME_TOKEN = re.compile(r"[A-Za-z][A-Za-z'\-]*")
_SPEAKING = re.compile(r"\b([A-Z][a-z'\-]+(?:\s+[A-Z][a-z'\-]+)?)\s+(?:speaking|here)\b")
_NOT_NAMES = frozenset(
    _words(
        "calling call trying looking wondering having going just not so very really here there sorry fine good great "
        "okay ok yes no hi hello hey please thanks thank speaking from with at the a an about still also glad happy "
        "sure interested unable able afraid concerned customer member new back done ready"
    )
)
_GENERIC_CUES = frozenset(
    _words(
        "customer customers caller user agent value field given mentioned provided stated conversation call the said "
        "any their his her its which what when"
    )
)


@cache
def _stop_words() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS)


@dataclass(frozen=True)
class _Line:
    role: str | None
    text: str


@dataclass(frozen=True)
class _Candidate:
    line: int
    start: int
    end: int
    value: str | float
    prior: float = 0.0  # how sure the pattern is; only names and strong phones use it


@dataclass(frozen=True)
class Extracted:
    """One field's value and the sentence it was found in (verbatim)."""

    value: str | float | None
    evidence: str | None = None
    how: str = ""


def _overlaps(c: _Candidate, spans: Sequence[_Candidate]) -> bool:
    return any(c.line == s.line and c.start < s.end and s.start < c.end for s in spans)


def _parse_time(match: re.Match[str]) -> dtime | None:
    hour_ampm, minute_ampm, ampm, hour_24, minute_24, hour_clock, word = match.groups()
    if word:
        return dtime(0, 0) if word.lower() == "midnight" else dtime(12, 0)
    if hour_ampm:
        hour, minute = int(hour_ampm), int(minute_ampm or 0)
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ampm.lower() == "p" else 0)
    elif hour_24:
        hour, minute = int(hour_24), int(minute_24)
    else:
        hour, minute = int(hour_clock), 0
    return dtime(hour, minute) if hour < 24 and minute < 60 else None


def _parse_date(text: str, reference: datetime) -> date | None:
    import dateparser

    cleaned = re.sub(r"^(?:on|the)\s+", "", text.strip(), flags=re.IGNORECASE)
    cleaned = re.sub(r"^coming\s+", "next ", cleaned, flags=re.IGNORECASE)
    bare = _BARE_ORDINAL.match(text.strip())
    if bare:  # "the 9th": that day of the reference month (dateparser reads it as a month)
        try:
            return reference.date().replace(day=int(bare.group(1)))
        except ValueError:
            return None
    weekday = re.search(_WEEKDAY, cleaned, re.IGNORECASE) and not re.match(r"last\b", cleaned, re.IGNORECASE)
    settings = {
        "RELATIVE_BASE": reference,
        "PREFER_DATES_FROM": "future" if weekday else "current_period",
        "RETURN_AS_TIMEZONE_AWARE": False,
        "DATE_ORDER": "MDY",
    }
    parsed = dateparser.parse(cleaned, languages=["en"], settings=settings)
    return parsed.date() if parsed else None


def _moments(lines: Sequence[_Line], reference: datetime) -> list[tuple[_Candidate, date | None, dtime | None]]:
    """Date and time expressions, an adjacent date and time merged into one."""
    found: list[tuple[_Candidate, date | None, dtime | None]] = []
    for i, line in enumerate(lines):
        dates = []
        for m in _DATE.finditer(line.text):
            day = _parse_date(m.group(0), reference)
            if day is not None:
                dates.append((m.start(), m.end(), day))
        times = []
        for m in _TIME.finditer(line.text):
            clock = _parse_time(m)
            inside_date = any(s < m.end() and m.start() < e for s, e, _ in dates)
            if clock is not None and not inside_date:
                times.append((m.start(), m.end(), clock))
        used_times: set[int] = set()
        for start, end, day in dates:
            clock, span = None, (start, end)
            for k, (t_start, t_end, t_clock) in enumerate(times):
                gap = line.text[end:t_start] if t_start >= end else line.text[t_end:start] if t_end <= start else "x"
                if k not in used_times and _DATE_TIME_GAP.match(gap):
                    clock, span = t_clock, (min(start, t_start), max(end, t_end))
                    used_times.add(k)
                    break
            found.append((_Candidate(i, span[0], span[1], line.text[span[0] : span[1]]), day, clock))
        for k, (t_start, t_end, t_clock) in enumerate(times):
            if k not in used_times:
                found.append((_Candidate(i, t_start, t_end, line.text[t_start:t_end]), None, t_clock))
    return sorted(found, key=lambda item: (item[0].line, item[0].start))


def _phones(lines: Sequence[_Line], region: str) -> list[_Candidate]:
    import phonenumbers

    found = []
    for i, line in enumerate(lines):
        for m in phonenumbers.PhoneNumberMatcher(line.text, region, leniency=phonenumbers.Leniency.VALID):
            e164 = phonenumbers.format_number(m.number, phonenumbers.PhoneNumberFormat.E164)
            formatted = bool(re.search(r"[^\d]", m.raw_string))
            cue = bool(re.search(r"\b(?:phone|call|cell|mobile|number|reach|text|fax|contact)\b", line.text, re.I))
            found.append(_Candidate(i, m.start, m.end, e164, prior=1.0 if formatted or cue else 0.0))
    return found


def _emails(lines: Sequence[_Line]) -> list[_Candidate]:
    found = []
    for i, line in enumerate(lines):
        spans = [(m.start(), m.end(), m.group(0).lower()) for m in _EMAIL.finditer(line.text)]
        for m in _SPOKEN_EMAIL.finditer(line.text):
            if not any(s < m.end() and m.start() < e for s, e, _ in spans):
                local = re.sub(r"\s+dot\s+", ".", re.sub(r"\s+underscore\s+", "_", m.group(1), flags=re.I), flags=re.I)
                domain = re.sub(r"\s+dot\s+", ".", m.group(2), flags=re.I)
                spans.append((m.start(), m.end(), f"{local}@{domain}".lower()))
        found += [_Candidate(i, s, e, value) for s, e, value in sorted(spans)]
    return found


def _amounts(lines: Sequence[_Line]) -> list[_Candidate]:
    from price_parser import Price

    found = []
    for i, line in enumerate(lines):
        for m in _AMOUNT.finditer(line.text):
            raw = m.group(0).strip()
            value = Price.fromstring(raw).amount_float
            if value is None:
                continue
            if re.search(r"cents?\b", raw, re.IGNORECASE):
                value /= 100
            found.append(_Candidate(i, m.start(), m.start() + len(m.group(0).rstrip()), round(value, 2)))
    return found


def _ids(lines: Sequence[_Line], taken: Sequence[_Candidate]) -> list[_Candidate]:
    found = []
    for i, line in enumerate(lines):
        for m in _ID.finditer(line.text):
            token = m.group(1)
            digits = sum(ch.isdigit() for ch in token)
            letters = sum(ch.isalpha() for ch in token)
            if not digits or len(token) < 4 or _NOT_ID.match(token) or (not letters and digits < 5):
                continue
            candidate = _Candidate(i, m.start(1), m.end(1), token.upper(), prior=0.5 if letters else 0.0)
            if not _overlaps(candidate, taken):
                found.append(candidate)
    return found


def _numbers(lines: Sequence[_Line], taken: Sequence[_Candidate]) -> list[_Candidate]:
    found = []
    for i, line in enumerate(lines):
        for m in _NUMBER.finditer(line.text):
            candidate = _Candidate(i, m.start(), m.end(), float(m.group(0).replace(",", "")))
            if not _overlaps(candidate, taken):
                found.append(candidate)
        for m in _NUMBER_WORD.finditer(line.text):
            found.append(_Candidate(i, m.start(), m.end(), float(_NUMBER_WORDS[m.group(1).lower()])))
    return sorted(found, key=lambda c: (c.line, c.start))


def _names(lines: Sequence[_Line]) -> list[_Candidate]:
    stop = _stop_words()
    found = []
    for i, line in enumerate(lines):
        cased = line.text != line.text.lower()
        for m in _NAME_INTRO.finditer(line.text):
            strong = m.group("strong") is not None
            if not strong and not cased:
                continue  # "this is …" / "i'm …" in lower-case text is rarely a name
            tokens: list[str] = []
            end = pos = m.end()
            for t in _NAME_TOKEN.finditer(line.text, pos):
                if line.text[pos : t.start()].strip() or len(tokens) == 3:
                    break
                word = t.group(0)
                if word.lower() in stop or word.lower() in _NOT_NAMES or (cased and not word[0].isupper()):
                    break
                tokens.append(word)
                end = pos = t.end()
            if not tokens:
                continue
            rest = line.text[end:].lstrip().lower()
            prior = (2.0 if strong else 1.0) + (1.0 if line.role == "user" else 0.0)
            if re.match(r"(?:from|with|at)\b", rest):  # "this is Anna from Acme": the agent introducing herself
                prior -= 1.0
            name = " ".join(tokens)
            found.append(_Candidate(i, m.end(), end, name if cased else name.title(), prior=prior))
        if cased:
            for m in _SPEAKING.finditer(line.text):
                if m.group(1).split()[0].lower() not in stop | _NOT_NAMES:
                    prior = 1.0 + (1.0 if line.role == "user" else 0.0)
                    found.append(_Candidate(i, m.start(1), m.end(1), m.group(1), prior=prior))
    return found


def _cue_words(field: ExtractField) -> set[str]:
    stop = _stop_words()
    words = _normalize(f"{name_words(field.name)} {field.description}").split()
    return {w[:5] for w in words if len(w) > 2 and w not in stop and w not in _GENERIC_CUES}


def _cue_match(word: str, cues: set[str]) -> bool:
    """A word matches a cue on its first five letters, or starts with a shorter cue ("reference" ~ "ref")."""
    return word[:5] in cues or any(len(c) < 5 and word.startswith(c) for c in cues)


def _cue_score(candidate: _Candidate, lines: Sequence[_Line], cues: set[str]) -> float:
    """1 when a cue word of the field comes just before (or right after) the value, 0.5 anywhere in its line."""
    if not cues:
        return 0.0
    text = lines[candidate.line].text

    def hits(segment: str) -> bool:
        return any(_cue_match(w, cues) for w in _normalize(segment).split())

    before = " ".join(text[: candidate.start].split()[-6:])
    after = " ".join(text[candidate.end :].split()[:3])
    if hits(before) or hits(after):
        return 1.0
    return 0.5 if hits(text) else 0.0


def _sentence_at(text: str, start: int) -> str:
    offset = 0
    for sentence in _SENTENCE_END.split(text):
        offset = text.find(sentence, offset)
        if offset <= start < offset + len(sentence) + 1:
            return sentence.strip()
        offset += len(sentence)
    return text.strip()


def _text_candidates(lines: Sequence[_Line], field: ExtractField) -> list[tuple[float, _Candidate]]:
    cues = _cue_words(field)
    found = []
    for i, line in enumerate(lines):
        offset = 0
        for sentence in _sentences(line.text):
            offset = line.text.find(sentence, offset)
            words = {w for w in _normalize(sentence).split() if len(w) > 2}
            overlap = len({c for c in cues if any(_cue_match(w, {c}) for w in words)})
            if overlap:
                found.append((float(overlap), _Candidate(i, offset, offset + len(sentence), sentence)))
            offset += len(sentence)
    return found


def _split_role(line: str) -> _Line:
    m = _ROLE_PREFIX.match(line)
    if not m:
        return _Line(None, line.strip())
    role = "user" if m.group(1).lower() in ("user", "customer") else "assistant"
    return _Line(role, line[m.end() :].strip())


def extract_details(
    lines: Sequence[_Line] | Sequence[Turn],
    fields: Sequence[ExtractField],
    reference_time: datetime,
    *,
    region: str = "US",
) -> dict[str, Extracted]:
    """Every field's value with the sentence it rests on. ``lines`` are turns, or lines of text."""
    rows = [item if isinstance(item, _Line) else _Line(item.role, item.content) for item in lines]
    rows = [r for r in rows if r.text.strip()]
    reference = reference_time.replace(tzinfo=None)  # wall-clock dates, as spoken
    wanted = {f.type for f in fields}
    emails = _emails(rows)
    phones = _phones(rows, region) if wanted & {"phone", "id", "number"} else []
    amounts = _amounts(rows) if wanted & {"amount", "number", "id"} else []
    moments = _moments(rows, reference) if wanted & {"date", "time", "datetime", "id", "number"} else []
    strong_phones = [p for p in phones if p.prior > 0]
    moment_spans = [m for m, _, _ in moments]
    ids = _ids(rows, [*emails, *strong_phones, *amounts, *moment_spans]) if wanted & {"id", "number"} else []
    candidates: dict[str, list[_Candidate]] = {
        "email": emails,
        "phone": phones,
        "amount": amounts,
        "id": ids,
        "date": [_Candidate(c.line, c.start, c.end, day.isoformat()) for c, day, _ in moments if day is not None],
        "time": [
            _Candidate(c.line, c.start, c.end, clock.isoformat(timespec="minutes"))
            for c, _, clock in moments
            if clock is not None
        ],
        "datetime": [
            _Candidate(
                c.line,
                c.start,
                c.end,
                datetime.combine(day or reference.date(), clock).isoformat(timespec="minutes")
                if clock is not None
                else (day or reference.date()).isoformat(),
            )
            for c, day, clock in moments
        ],
    }
    if "number" in wanted:
        candidates["number"] = _numbers(rows, [*emails, *phones, *amounts, *moment_spans, *ids])
    if "name" in wanted:
        candidates["name"] = _names(rows)
    results: dict[str, Extracted] = {}
    used: set[tuple[int, int]] = set()
    for field in fields:
        if field.type == "text":
            scored = _text_candidates(rows, field)
            if not scored:
                results[field.name] = Extracted(None)
                continue
            overlap, best = max(scored, key=lambda item: (item[0], -item[1].line, -item[1].start))
            results[field.name] = Extracted(best.value, str(best.value), f"{int(overlap)} description word(s)")
            continue
        cues = _cue_words(field)
        pool = candidates.get(field.type, [])
        if not pool:
            results[field.name] = Extracted(None)
            continue

        def rank(c: _Candidate, cues: set[str] = cues) -> tuple[float, bool, int, int]:
            return (-(_cue_score(c, rows, cues) + c.prior), (c.line, c.start) in used, c.line, c.start)

        best = min(pool, key=rank)
        used.add((best.line, best.start))
        cue = _cue_score(best, rows, cues)
        matched = rows[best.line].text[best.start : best.end]
        how = f"{field.type} '{matched}'" + (" next to a description word" if cue >= 1 else "")
        results[field.name] = Extracted(best.value, _sentence_at(rows[best.line].text, best.start), how)
    return results


def extract(
    text: str, fields: Sequence[ExtractField], reference_time: datetime, *, region: str = "US"
) -> dict[str, str | float | None]:
    """Typed values of ``fields`` found in ``text``, None where not found.

    dates ``YYYY-MM-DD``, times ``HH:MM``, datetimes ``YYYY-MM-DDTHH:MM`` (or a date alone when no time is given),
    relative ones ("next tuesday", "in 3 days") resolved against ``reference_time``'s wall clock; amounts and
    numbers as floats; phones E.164 (national numbers read in ``region``); ids upper-cased; emails lower-cased.
    Lines may start with ``user:``/``assistant:`` as in a transcript: names prefer the customer's lines.
    """
    lines = [_split_role(line) for line in _lines(text)]
    details = extract_details(lines, fields, reference_time, region=region)
    return {name: found.value for name, found in details.items()}


# --- the evaluator -------------------------------------------------------------------------------------------------


class _NotApplicable(Exception):
    """The metric does not apply to this conversation (the message says why)."""


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


class LocalEvaluator:
    """The ``free`` tier: answers ai_sentiment, ai_classify and ai_extract metrics locally (see the module doc).

    ``region`` is the country whose national phone numbers are read (ISO 3166 code)."""

    def __init__(self, *, region: str = "US") -> None:
        self.region = region
        self._modes: dict[str, Callable[[Conversation, MetricDefinition, Evaluation], None]] = {
            "ai_sentiment": self._sentiment,
            "ai_classify": self._classify,
            "ai_extract": self._extract,
        }

    async def evaluate(self, conversation: Conversation, metrics: list[MetricDefinition]) -> list[Evaluation]:
        """One Evaluation per metric, in the same order; a metric's failure is its own ``error``."""
        return [self.evaluate_one(conversation, metric) for metric in metrics]

    def evaluate_one(self, conversation: Conversation, metric: MetricDefinition) -> Evaluation:
        started = time.perf_counter()
        evaluation = Evaluation(metric.key, metric.definition_version, conversation.conversation_id, "ok", attempts=1)
        mode = metric.computed_mode or "derived"
        try:
            handler = self._modes.get(mode)
            if mode == "ai_query":
                raise ValueError(
                    "ai_query needs a language model: the free tier cannot run prompts "
                    "(set model_tier to fast, balanced or max)"
                )
            if handler is None:
                raise ValueError(f"extraction_mode '{mode}' is not an AI mode; the hourly job computes it")
            handler(conversation, metric, evaluation)
            apply_range(metric, evaluation)
        except _NotApplicable as reason:
            evaluation = Evaluation(
                metric.key,
                metric.definition_version,
                conversation.conversation_id,
                "not_applicable",
                rationale=str(reason),
                evidence=evaluation.evidence,
                model=evaluation.model,
                attempts=1,
            )
        except Exception as exc:
            evaluation = Evaluation(
                metric.key,
                metric.definition_version,
                conversation.conversation_id,
                "error",
                model=evaluation.model,
                error=f"{type(exc).__name__}: {exc}",
                attempts=1,
            )
        evaluation.latency_ms = round((time.perf_counter() - started) * 1000, 3)
        return evaluation

    # ai_sentiment ------------------------------------------------------------------------------------------------

    def _sentiment(self, conversation: Conversation, metric: MetricDefinition, evaluation: Evaluation) -> None:
        evaluation.model = SENTIMENT_MODEL
        turns = [t.content.strip() for t in conversation.transcript if t.role == "user" and t.content.strip()]
        if not turns:
            raise _NotApplicable("the conversation has no customer (user) turns")
        scores = [compound(t) for t in turns]
        score = round(sum(scores) / len(scores), 4)
        label = sentiment_label(score)
        evaluation.rationale = (
            f"mean VADER compound {score:+.3f} over {len(turns)} customer turn(s): {label} "
            f"(positive ≥ {POSITIVE_THRESHOLD}, negative ≤ {NEGATIVE_THRESHOLD})"
        )
        evaluation.evidence = _sentiment_evidence(turns, label)
        kind = metric.metric_type
        if kind == "numerical":
            evaluation.value_num = score
            return
        if kind == "boolean":
            evaluation.value_bool = label == "negative"
            return
        value = label
        if metric.ai_labels:
            mapping = _map_sentiment_labels(metric)
            if label not in mapping:
                raise _NotApplicable(f"{label} (compound {score:+.3f}) matches none of {metric.label_names}")
            value = mapping[label]
        if kind == "list":
            evaluation.value_list = [value]
        else:
            evaluation.value_text = value

    # ai_classify -------------------------------------------------------------------------------------------------

    def _classify(self, conversation: Conversation, metric: MetricDefinition, evaluation: Evaluation) -> None:
        evaluation.model = CLASSIFY_MODEL
        labels = [label for label in metric.ai_labels or [] if isinstance(label, str | ClassLabel)]
        if not labels:
            raise ValueError("ai_classify needs ai_labels")
        turns = [t.content for t in conversation.transcript if t.content.strip()]
        if not turns:
            raise _NotApplicable("the conversation has no transcript")
        ranked = score_labels(turns, labels)
        top = ", ".join(f"{s.name} {s.score:.3f} (best line {s.peak:.3f})" for s in ranked[:2])
        evaluation.rationale = f"TF-IDF similarity, top labels: {top}; a label applies from {CLASSIFY_THRESHOLD}"
        if metric.metric_type == "list":
            chosen = [s for s in ranked if s.peak >= CLASSIFY_THRESHOLD]
            by_definition = {name: i for i, name in enumerate(metric.label_names)}
            chosen.sort(key=lambda s: by_definition.get(s.name, len(by_definition)))
            evaluation.evidence = _dedupe(_best_sentence(turns[s.peak_line], labels, s.name) for s in chosen)
            if not chosen:
                raise _NotApplicable(f"no label reaches {CLASSIFY_THRESHOLD}: {top}")
            evaluation.value_list = [s.name for s in chosen]
            return
        best = ranked[0]
        evaluation.evidence = [_best_sentence(turns[best.peak_line], labels, best.name)]
        if best.peak < CLASSIFY_THRESHOLD:
            raise _NotApplicable(f"no label reaches {CLASSIFY_THRESHOLD}: {top}")
        evaluation.value_text = best.name

    # ai_extract --------------------------------------------------------------------------------------------------

    def _extract(self, conversation: Conversation, metric: MetricDefinition, evaluation: Evaluation) -> None:
        evaluation.model = EXTRACT_MODEL
        fields = [f for f in metric.ai_labels or [] if isinstance(f, ExtractField)]
        if not fields:
            raise ValueError("ai_extract needs fields in ai_labels: {name, type, description}")
        details = extract_details(conversation.transcript, fields, conversation.occurred_at, region=self.region)
        found = {name: d for name, d in details.items() if d.value is not None}
        evaluation.rationale = "; ".join(f"{name}: {d.how}" for name, d in found.items()) or "nothing found"
        evaluation.evidence = _dedupe(d.evidence for d in found.values() if d.evidence)
        if not found:
            raise _NotApplicable(f"none of {', '.join(f.name for f in fields)} found in the transcript")
        kind = metric.metric_type
        if len(fields) == 1:
            value = found[fields[0].name].value
            if isinstance(value, float):
                evaluation.value_num = value
            elif kind == "numerical":
                raise ValueError(f"field {fields[0].name} ({fields[0].type}) is not a number: {value!r}")
            if kind == "list":
                evaluation.value_list = [_as_text(value)]
            elif kind != "numerical":
                evaluation.value_text = _as_text(value)
            if kind == "boolean":
                evaluation.value_bool = True
            return
        values = {name: d.value for name, d in found.items()}
        if kind == "list":
            evaluation.value_list = [f"{k}: {_as_text(v)}" for k, v in values.items()]
        else:
            evaluation.value_text = json.dumps(values, sort_keys=True)


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


def _best_sentence(turn: str, labels: Sequence[str | ClassLabel], name: str) -> str:
    sentences = _sentences(turn)
    if len(sentences) <= 1:
        return turn.strip()
    column = next(i for i, label in enumerate(labels) if _label_name(label) == name)
    vectorizer, matrix = _label_model(tuple(label_document(label) for label in labels))
    sims = (vectorizer.transform(sentences) @ matrix[column].T).toarray()[:, 0]
    return sentences[max(range(len(sentences)), key=lambda i: (float(sims[i]), -i))]


def _dedupe(items: Any) -> list[str]:
    seen: list[str] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen
