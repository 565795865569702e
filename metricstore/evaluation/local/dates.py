"""Dates and times of the free tier's ``ai_extract``: where they are said, what day they name, and whether they
name a day of the request at all (a greeting's "today", "last month", "in two days" after "haven't" do not)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as dtime

from metricstore.evaluation.local.patterns import (
    BARE_ORDINAL,
    BIRTH_CUE,
    DATE,
    DATE_TIME_GAP,
    NEGATED,
    PERIOD,
    SMALL_TALK,
    SPAN_CUE,
    SPEAKING_DAY,
    TIME,
    WEEKDAY,
)


@dataclass(frozen=True)
class Moment:
    """A date and/or time said in line ``line`` at characters ``start:end``."""

    line: int
    start: int
    end: int
    day: date | None
    clock: dtime | None
    past_day: date | None = None
    """The day read in the past: a bare weekday ("on Friday") in a sentence about what happened is the last one,
    a bare day of the month ("the 20th") after today is last month's."""
    next_day: date | None = None
    """The day read ahead: a bare day of the month before today ("the 5th") is next month's."""
    names_a_day: bool = True
    """False where the words name no day of the request: a period ("last month"), a span ("haven't heard in two
    days"), small talk ("how can I help you today"), a day denied ("not yesterday"), or a relative day restated
    by the calendar date beside it ("yesterday, June 25th": the calendar date is the one said)."""
    birth: bool = False
    """Said as a date of birth ("born June 12th"): only a field about a birth takes it."""


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
    cleaned = re.sub(r"^day\s+(after|before)", r"the day \1", cleaned, flags=re.IGNORECASE)
    bare = BARE_ORDINAL.match(text.strip())
    if bare:  # "the 9th": that day of the reference month (dateparser reads it as a month)
        try:
            return reference.date().replace(day=int(bare.group(1)))
        except ValueError:
            return None
    weekday = re.search(WEEKDAY, cleaned, re.IGNORECASE) and not re.match(r"last\b", cleaned, re.IGNORECASE)
    settings = {
        "RELATIVE_BASE": reference,
        "PREFER_DATES_FROM": "future" if weekday else "current_period",
        "RETURN_AS_TIMEZONE_AWARE": False,
        "DATE_ORDER": "MDY",
    }
    parsed = dateparser.parse(cleaned, languages=["en"], settings=settings)
    return parsed.date() if parsed else None


def _past_day(text: str, day: date, today: date) -> date | None:
    """A bare weekday ("friday", "on monday") read as the last one before the future one it was parsed as; a bare
    day of the month ("the 20th") after today as last month's (None where last month has no such day)."""
    if re.fullmatch(rf"(?:on\s+)?{WEEKDAY}", text.strip(), re.IGNORECASE):
        return day - timedelta(days=7)
    if _bare_ordinal(text) and day > today:
        return _month_shift(day, -1)
    return day


def _next_day(text: str, day: date, today: date) -> date | None:
    """A bare day of the month ("the 5th") before today read as next month's; any other day as parsed."""
    return _month_shift(day, 1) if _bare_ordinal(text) and day < today else day


def _bare_ordinal(text: str) -> bool:
    return BARE_ORDINAL.match(re.sub(r"^on\s+", "", text.strip(), flags=re.IGNORECASE)) is not None


def _month_shift(day: date, months: int) -> date | None:
    years, month = divmod(day.month - 1 + months, 12)
    try:
        return day.replace(year=day.year + years, month=month + 1)
    except ValueError:  # the 31st of a 30-day month
        return None


_RELATIVE = re.compile(r"^(?:the\s+)?(?:day\s+(?:after|before)\s+)?(?:today|tomorrow|tonight|yesterday)$", re.I)
_RESTATING_GAP = re.compile(r"^\s*,?\s*(?:on\s+|the\s+)?$", re.IGNORECASE)


def _names_a_day(text: str, start: int, end: int, dates: Sequence[tuple[int, int, date]]) -> bool:
    said = text[start:end]
    before = text[:start]
    sentence_before = re.split(r"[.!?]\s+", before)[-1]
    if PERIOD.match(said):
        return False
    if said.lower().startswith("in ") and SPAN_CUE.search(sentence_before):
        return False  # "I haven't had service in two days": a span, not a day ahead
    if SPEAKING_DAY.match(said.strip()) and SMALL_TALK.search(before):
        return False
    if NEGATED.search(before):
        return False
    if _RELATIVE.match(said.strip()):  # "yesterday, June 25th": the calendar date says which day
        return not any(s >= end and _RESTATING_GAP.match(text[end:s]) for s, _, _ in dates)
    return True


def moments(lines: Sequence[str], reference: datetime) -> list[Moment]:
    """Date and time expressions of each line, an adjacent date and time merged into one."""
    found: list[Moment] = []
    for i, text in enumerate(lines):
        dates = []
        for m in DATE.finditer(text):
            day = _parse_date(m.group(0), reference)
            if day is not None:
                dates.append((m.start(), m.end(), day))
        times = []
        for m in TIME.finditer(text):
            clock = _parse_time(m)
            inside_date = any(s < m.end() and m.start() < e for s, e, _ in dates)
            if clock is not None and not inside_date:
                times.append((m.start(), m.end(), clock))
        used_times: set[int] = set()
        for start, end, day in dates:
            clock, span = None, (start, end)
            for k, (t_start, t_end, t_clock) in enumerate(times):
                gap = text[end:t_start] if t_start >= end else text[t_end:start] if t_end <= start else "x"
                if k not in used_times and DATE_TIME_GAP.match(gap):
                    clock, span = t_clock, (min(start, t_start), max(end, t_end))
                    used_times.add(k)
                    break
            found.append(
                Moment(
                    i,
                    span[0],
                    span[1],
                    day,
                    clock,
                    past_day=_past_day(text[start:end], day, reference.date()),
                    next_day=_next_day(text[start:end], day, reference.date()),
                    names_a_day=_names_a_day(text, start, end, dates),
                    birth=bool(BIRTH_CUE.search(" ".join(text[:start].split()[-4:]))),
                )
            )
        for k, (t_start, t_end, t_clock) in enumerate(times):
            if k not in used_times:
                found.append(Moment(i, t_start, t_end, None, t_clock))
    return sorted(found, key=lambda m: (m.line, m.start))


# A field about something ahead: promised or scheduled ("the date of a promised callback"), or a trip or visit ...
COMMITMENT_FIELD = re.compile(
    r"\b(?:promis\w*|call\s*-?\s*backs?|callbacks?|follow\w*|deadline|due|commit\w*|appointments?|schedul\w*|"
    r"return\s+call|get\s+back|next\s+contact)",
    re.IGNORECASE,
)
FUTURE_FIELD = re.compile(
    r"\b(?:upcoming|future|planned|travel\w*|trip|departure|depart\w*|arrival|arriv\w*|deliver\w*|visit\w*|"
    r"check\s*-?\s*in|move\s*-?\s*in|reservation)\b",
    re.IGNORECASE,
)
# ... or about something that happened (a charge, a loss, an incident): its date lies behind.
PAST_FIELD = re.compile(
    r"\b(?:charg\w*|purchas\w*|bought|paid|lost|loss|stolen|stole|theft|incident|accident|happen\w*|occur\w*|"
    r"last\s+used|transactions?|debit\w*|damage\w*|broke\w*|crack\w*|filed|submitted|reported|born|birth\w*)",
    re.IGNORECASE,
)
# A sentence about what happened: a bare weekday in it is the last one. Event verbs only: "I was wondering if my
# flight on Friday ..." is not about the past.
PAST_SENTENCE = re.compile(
    r"\b(?:happened|occurred|ago|lost|stole|stolen|charged|used|bought|paid|debited|yesterday)\b",
    re.IGNORECASE,
)
# A sentence that commits to a day ahead ("I will call you back on Friday", "expect a call by the 4th").
COMMITMENT = re.compile(
    r"\b(?:will|shall|going\s+to|expect|promise\w*|follow(?:ing)?\s+up|get\s+back|call\s+(?:you\s+)?back|"
    r"reach\s+out|be\s+in\s+touch|scheduled?|booked|appointment|by)\b|\w'll\b",
    re.IGNORECASE,
)
BIRTH_FIELD = re.compile(r"\b(?:born|birth\w*|dob|age)\b", re.IGNORECASE)
