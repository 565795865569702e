"""``ai_extract`` of the free tier."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from metricstore.definitions import ExtractField
from metricstore.evaluation.base import Turn
from metricstore.evaluation.local.dates import (
    BIRTH_FIELD,
    COMMITMENT,
    COMMITMENT_FIELD,
    FUTURE_FIELD,
    PAST_FIELD,
    PAST_SENTENCE,
    Moment,
    moments,
)
from metricstore.evaluation.local.patterns import (
    AMOUNT,
    EMAIL,
    GENERIC_CUES,
    ID,
    ID_CUE,
    NAME_INTRO,
    NAME_TOKEN,
    NOT_ID,
    NOT_ID_CUE,
    NOT_NAMES,
    NUMBER,
    NUMBER_WORD,
    NUMBER_WORDS,
    SPEAKING,
    SPEAKING_DAY,
    SPECIFIC_ID_CUE,
    SPOKEN_EMAIL,
)
from metricstore.evaluation.local.text import (
    _ROLE_PREFIX,
    _SENTENCE_END,
    _lines,
    _normalize,
    _sentences,
    _stop_words,
    name_words,
)

EXTRACT_MODEL = "local/extract/3"


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
    confidence: float | None = None
    """How sure the value is the field's, in [0, 1]: grows with its ranking score (a description word next to it,
    a strong pattern, the role the field asks for)."""
    line: int | None = None
    """Where the value was read: the index of its line among the non-empty lines, and its characters there."""
    start: int | None = None
    end: int | None = None


def _overlaps(c: _Candidate, spans: Sequence[_Candidate]) -> bool:
    return any(c.line == s.line and c.start < s.end and s.start < c.end for s in spans)


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
        spans = [(m.start(), m.end(), m.group(0).lower()) for m in EMAIL.finditer(line.text)]
        for m in SPOKEN_EMAIL.finditer(line.text):
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
        for m in AMOUNT.finditer(line.text):
            raw = m.group(0).strip()
            value = Price.fromstring(raw).amount_float
            if value is None or not math.isfinite(value):  # digits past a float's range state no amount
                continue
            if re.search(r"cents?\b", raw, re.IGNORECASE):
                value /= 100
            found.append(_Candidate(i, m.start(), m.start() + len(m.group(0).rstrip()), round(value, 2)))
    return found


def _ids(lines: Sequence[_Line], taken: Sequence[_Candidate]) -> list[_Candidate]:
    found = []
    for i, line in enumerate(lines):
        for m in ID.finditer(line.text):
            token = m.group(1)
            digits = sum(ch.isdigit() for ch in token)
            letters = sum(ch.isalpha() for ch in token)
            if not digits or len(token) < 4 or NOT_ID.match(token) or (not letters and digits < 5):
                continue
            candidate = _Candidate(i, m.start(1), m.end(1), token.upper(), prior=0.5 if letters else 0.0)
            if not _overlaps(candidate, taken):
                found.append(candidate)
    return found


def _numbers(lines: Sequence[_Line], taken: Sequence[_Candidate]) -> list[_Candidate]:
    found = []
    for i, line in enumerate(lines):
        for m in NUMBER.finditer(line.text):
            number = float(m.group(0).replace(",", ""))
            candidate = _Candidate(i, m.start(), m.end(), number)
            if math.isfinite(number) and not _overlaps(candidate, taken):  # 400 digits in a row are no quantity
                found.append(candidate)
        for m in NUMBER_WORD.finditer(line.text):
            found.append(_Candidate(i, m.start(), m.end(), float(NUMBER_WORDS[m.group(1).lower()])))
    return sorted(found, key=lambda c: (c.line, c.start))


def _names(lines: Sequence[_Line]) -> list[_Candidate]:
    stop = _stop_words()
    found = []
    for i, line in enumerate(lines):
        cased = line.text != line.text.lower()
        for m in NAME_INTRO.finditer(line.text):
            strong = m.group("strong") is not None
            if not strong and not cased:
                continue  # "this is …" / "i'm …" in lower-case text is rarely a name
            tokens: list[str] = []
            end = pos = m.end()
            for t in NAME_TOKEN.finditer(line.text, pos):
                if line.text[pos : t.start()].strip() or len(tokens) == 3:
                    break
                word = t.group(0)
                if word.lower() in stop or word.lower() in NOT_NAMES or (cased and not word[0].isupper()):
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
            for m in SPEAKING.finditer(line.text):
                if m.group(1).split()[0].lower() not in stop | NOT_NAMES:
                    prior = 1.0 + (1.0 if line.role == "user" else 0.0)
                    found.append(_Candidate(i, m.start(1), m.end(1), m.group(1), prior=prior))
    return found


def _field_words(field: ExtractField) -> str:
    """What a field says of itself: its name as words and its description."""
    return f"{name_words(field.name)} {field.description}"


def _cue_words(field: ExtractField) -> set[str]:
    stop = _stop_words()
    words = _normalize(_field_words(field)).split()
    return {w[:5] for w in words if len(w) > 2 and w not in stop and w not in GENERIC_CUES}


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


def _is_commitment_field(field: ExtractField) -> bool:
    return bool(COMMITMENT_FIELD.search(_field_words(field)))


def _tense(field: ExtractField) -> str:
    """ "ahead" for a field about a promise, a booking or a trip; "behind" for one about a charge, a loss or an
    incident; "" when its description says neither (or both)."""
    words = _field_words(field)
    if _is_commitment_field(field):
        return "ahead"
    ahead, behind = bool(FUTURE_FIELD.search(words)), bool(PAST_FIELD.search(words))
    return "ahead" if ahead and not behind else "behind" if behind and not ahead else ""


def _dated(field: ExtractField, said: Sequence[Moment], rows: Sequence[_Line], reference: datetime) -> list[_Candidate]:
    """The field's date (or datetime) candidates: only words that name a day of the request, a birth date only
    for a field about a birth, and the day on the side of today the field's event lies (a bare weekday in a
    sentence about what happened is the last one)."""
    tense = _tense(field)
    births = bool(BIRTH_FIELD.search(_field_words(field)))
    today = reference.date()
    found = []
    for m in said:
        if m.day is None:
            if field.type == "datetime" and m.clock is not None and tense != "behind":
                value = datetime.combine(today, m.clock).isoformat(timespec="minutes")
                found.append(_Candidate(m.line, m.start, m.end, value))
            continue
        if not m.names_a_day or (m.birth and not births):
            continue
        past = tense == "behind" or (
            not tense and PAST_SENTENCE.search(_sentence_at(rows[m.line].text, m.start)) is not None
        )
        day = m.past_day if past else m.day
        if tense == "ahead" and day is not None and day < today:
            day = m.next_day  # "call you back on the 5th", said on the 13th: next month's
        if day is None or (tense == "ahead" and day < today) or (tense == "behind" and day > today):
            continue
        value = (
            day.isoformat()
            if field.type == "date" or m.clock is None
            else datetime.combine(day, m.clock).isoformat(timespec="minutes")
        )
        found.append(_Candidate(m.line, m.start, m.end, value))
    return found


def _speaking_day(candidate: _Candidate, lines: Sequence[_Line]) -> bool:
    return bool(SPEAKING_DAY.match(lines[candidate.line].text[candidate.start : candidate.end].strip()))


def _reads_as_id(candidate: _Candidate, lines: Sequence[_Line], phones: Sequence[_Candidate]) -> bool:
    """Letters and digits ("ABC123") read as an id; digits alone only after a word that makes them one ("order
    number 48213") and none that makes them something else (a phone, a zip code, a password, an amount)."""
    text = lines[candidate.line].text
    token = text[candidate.start : candidate.end]
    if any(ch.isalpha() for ch in token):
        return True
    before = " ".join(text[: candidate.start].split()[-5:])
    cue = SPECIFIC_ID_CUE if _overlaps(candidate, phones) else ID_CUE
    return bool(cue.search(before)) and not NOT_ID_CUE.search(before)


def _stated(candidate: _Candidate, lines: Sequence[_Line]) -> bool:
    """A value asked about is not stated: "What can I do for you today?" gives no date, "Is that 555 1234?" no phone."""
    return not _sentence_at(lines[candidate.line].text, candidate.start).rstrip().endswith("?")


def extraction_confidence(score: float) -> float:
    """A value's ranking score (description word 0-1, pattern prior 0-3, role 0-2) as a confidence in [0.5, 1):
    found at all is even odds, each point of evidence halves the remaining doubt."""
    return round(1.0 - 0.5 * 0.5 ** max(0.0, score), 4)


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
    said = moments([r.text for r in rows], reference) if wanted & {"date", "time", "datetime", "id", "number"} else []
    strong_phones = [p for p in phones if p.prior > 0]
    moment_spans = [_Candidate(m.line, m.start, m.end, "") for m in said]
    ids = _ids(rows, [*emails, *strong_phones, *amounts, *moment_spans]) if wanted & {"id", "number"} else []
    candidates: dict[str, list[_Candidate]] = {
        "email": emails,
        "phone": phones,
        "amount": amounts,
        "id": ids,
        "time": [
            _Candidate(m.line, m.start, m.end, m.clock.isoformat(timespec="minutes"))
            for m in said
            if m.clock is not None
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
        commitment = field.type in ("date", "time", "datetime") and _is_commitment_field(field)
        found = (
            _dated(field, said, rows, reference) if field.type in ("date", "datetime") else candidates.get(field.type)
        )
        pool = [c for c in found or [] if _stated(c, rows)]
        if field.type in ("date", "time", "datetime") and not commitment:
            # "today": only where the sentence ties it to the field (a description word beside it)
            pool = [c for c in pool if not _speaking_day(c, rows) or _cue_score(c, rows, cues) >= 1]
        if field.type == "id":
            pool = [c for c in pool if _reads_as_id(c, rows, phones)]
        if commitment:  # a promised date is said as a commitment, and lies ahead
            pool = [c for c in pool if COMMITMENT.search(_sentence_at(rows[c.line].text, c.start))]
        if not pool:
            results[field.name] = Extracted(None)
            continue

        def score(c: _Candidate, cues: set[str] = cues, commitment: bool = commitment) -> float:
            role = 1.0 if commitment and rows[c.line].role == "assistant" else 0.0
            return _cue_score(c, rows, cues) + c.prior + role

        best = min(pool, key=lambda c: (-score(c), (c.line, c.start) in used, c.line, c.start))
        used.add((best.line, best.start))
        cue = _cue_score(best, rows, cues)
        matched = rows[best.line].text[best.start : best.end]
        how = f"{field.type} '{matched}'" + (" next to a description word" if cue >= 1 else "")
        how += " said as a commitment" if commitment else ""
        results[field.name] = Extracted(
            best.value,
            _sentence_at(rows[best.line].text, best.start),
            how,
            confidence=extraction_confidence(score(best) + (1.0 if commitment else 0.0)),
            line=best.line,
            start=best.start,
            end=best.end,
        )
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
