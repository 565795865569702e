"""The regular expressions extraction reads with."""

from __future__ import annotations

import re

from metricstore.evaluation.local.text import _words

_MONTH = (
    r"(?:january|february|march|april|may|june|july|august|september|october|november|december|"
    r"jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)\b\.?"
)
WEEKDAY = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
_ORDINAL_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
_YEAR = r"(?:19|20)\d{2}"
_COUNT = r"(?:\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"
DATE = re.compile(
    "|".join(
        [
            r"\b\d{4}-\d{1,2}-\d{1,2}\b",
            r"\b\d{1,2}/\d{1,2}(?:/\d{2,4})?\b",
            r"\b\d{1,2}\.\d{1,2}\.\d{2,4}\b",
            rf"\b{_MONTH}\s+(?:the\s+)?{_ORDINAL_DAY}\b(?:,?\s+{_YEAR}\b)?",
            rf"\b(?:the\s+)?{_ORDINAL_DAY}\s+(?:of\s+)?{_MONTH}(?:,?\s+{_YEAR}\b)?",
            rf"\b(?:(?:next|last|this|coming)\s+)?{WEEKDAY}\b",
            r"\b(?:(?:the\s+)?day\s+after\s+tomorrow|(?:the\s+)?day\s+before\s+yesterday|today|tomorrow|tonight|"
            r"yesterday)\b",
            rf"\bin\s+{_COUNT}\s+(?:days?|weeks?|months?|years?)\b(?!\s+ago\b)",
            rf"\b{_COUNT}\s+(?:days?|weeks?|months?|years?)\s+ago\b",
            r"\b(?:next|last|this)\s+(?:week|month|year)\b",
            r"\bthe\s+(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)\b",
        ]
    ),
    re.IGNORECASE,
)
BARE_ORDINAL = re.compile(r"^the\s+(\d{1,2})(?:st|nd|rd|th)$", re.IGNORECASE)
TIME = re.compile(
    r"\b(\d{1,2})(?::(\d{2}))?\s*([ap])\.?\s?m\b\.?|\b(\d{1,2}):(\d{2})(?::\d{2})?\b|\b(\d{1,2})\s*o'?clock\b"
    r"|\b(noon|midday|midnight)\b",
    re.IGNORECASE,
)
DATE_TIME_GAP = re.compile(r"^\s*(?:,|at|@|by|around|from|on)?\s*$", re.IGNORECASE)
EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
SPOKEN_EMAIL = re.compile(
    r"\b([a-z0-9]+(?:\s+(?:dot|underscore)\s+[a-z0-9]+)*)\s+at\s+([a-z0-9-]+(?:\s+dot\s+[a-z0-9-]+)*"
    r"\s+dot\s+(?:com|net|org|edu|gov|io|co|uk|de|fr|ca|au|info|biz|us))\b",
    re.IGNORECASE,
)
_CURRENCY_WORDS = r"(?:dollars?|bucks|usd|euros?|eur|pounds?|gbp|cents?)"
AMOUNT = re.compile(
    rf"(?:[$€£¥₹]|\b(?:usd|eur|gbp|us\$)\s?)\s?\d[\d,]*(?:\.\d+)?|\b\d[\d,]*(?:\.\d+)?\s?{_CURRENCY_WORDS}\b",
    re.IGNORECASE,
)
ID = re.compile(r"(?<![\w@.])#?([A-Za-z0-9]+(?:-[A-Za-z0-9]+)*)(?![\w@])")
NOT_ID = re.compile(
    r"^\d+(?:st|nd|rd|th|am|pm|s|k|m|gb|mb|kb|tb|kg|km|mi|mph|x|h|hr|hrs|min|mins|ms|yo|p|d)$", re.IGNORECASE
)
NUMBER = re.compile(r"(?<![\w.,$€£])[-+]?\d+(?:,\d{3})*(?:\.\d+)?(?![\w]|[.,]\d)")
NUMBER_WORDS = {
    word: value
    for value, word in enumerate(
        _words(
            "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
            "seventeen eighteen nineteen twenty"
        )
    )
} | {"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "a dozen": 12}
NUMBER_WORD = re.compile(r"\b(" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + r")\b", re.IGNORECASE)
NAME_INTRO = re.compile(
    r"\b(?:(?P<strong>my\s+(?:full\s+|first\s+|last\s+)?name(?:\s+is|'s)?|the\s+name\s+is|name\s+on\s+the\s+"
    r"account\s+is|call\s+me)|(?P<weak>this\s+is|it's|it\s+is|i'm|i\s+am))\s+",
    re.IGNORECASE,
)
NAME_TOKEN = re.compile(r"[A-Za-z][A-Za-z'\-]*")
SPEAKING = re.compile(r"\b([A-Z][a-z'\-]+(?:\s+[A-Z][a-z'\-]+)?)\s+(?:speaking|here)\b")
# The day of speaking itself: "today", "tonight", "this morning". Most often small talk ("what can I do for you
# today?", "that's all for today"), so it counts as a date only next to a word of the field.
SPEAKING_DAY = re.compile(
    r"^(?:(?:for|on|by|until)\s+)?(?:today|tonight|this\s+(?:morning|afternoon|evening))$", re.IGNORECASE
)
# Words that name a stretch of time, not a day: "last month", "next week", "in two years", "3 months ago".
PERIOD = re.compile(
    rf"^(?:(?:next|last|this|coming)\s+(?:week|month|year)|in\s+{_COUNT}\s+(?:months?|years?)|"
    rf"{_COUNT}\s+(?:months?|years?)\s+ago)$",
    re.IGNORECASE,
)
# Before "in two days": the words that make it a span ("I haven't had service in two days", "third time in a week").
SPAN_CUE = re.compile(r"\b(?:not|never|no|first\s+time|times?|only|at\s+least)\b|n't\b", re.IGNORECASE)
# Before "today": small talk ("how can I help you today", "how are you doing today", "thanks for calling today",
# "that's all for today").
SMALL_TALK = re.compile(
    r"(?:\b(?:help|assist|serve|support)\s+(?:you|u)(?:\s+with)?|\bfor\s+you|"
    r"\b(?:are|is)\s+(?:you|it|things|everything|your\s+day)(?:\s+(?:doing|going|feeling))?|"
    r"\bfor\s+(?:call|contact|chat|reach|writ|visit|choos|join)\w*(?:\s+(?:us|me|in|out|with\s+(?:us|me)))*|"
    r"\b(?:that's|that\s+is|that\s+will\s+be|that'll\s+be|is\s+that)\s+(?:all|it|everything)(?:\s+for)?)\s*,?\s*$",
    re.IGNORECASE,
)
# Before a date: a denial ("not yesterday, the day before").
NEGATED = re.compile(r"(?:\bnot|n't)\s+(?:a\s+|on\s+|by\s+)?$", re.IGNORECASE)
# Before a date: a birth ("born June 12th 1953", "date of birth 4/2/1980").
BIRTH_CUE = re.compile(r"\b(?:born|birth|birthday|dob)\b", re.IGNORECASE)
# Words that say a number is a reference (an id) ...
_SPECIFIC_ID_WORDS = (
    r"id|ref|reference|confirmation|order|booking|reservation|account|acct|claim|policy|ticket|case|card|"
    r"tracking|invoice|member|membership|pnr"
)
ID_CUE = re.compile(rf"\b(?:numbers?|no|num|nr|ids|{_SPECIFIC_ID_WORDS})\b|#", re.IGNORECASE)
# A number that also reads as a phone number needs a word more specific than "number".
SPECIFIC_ID_CUE = re.compile(rf"\b(?:{_SPECIFIC_ID_WORDS})\b|#", re.IGNORECASE)
# Words that say a number is something else than an id.
NOT_ID_CUE = re.compile(
    r"\b(?:phone|mobile|cell|telephone|contact|call|reach|zip|zipcode|postal|postcode|pin|password|passcode|ssn|social|dollars?|bucks|"
    r"amount|born|birth|birthday|age|years?|street|road|avenue|apartment|apt|date|dated|dob)\b",
    re.IGNORECASE,
)
NOT_NAMES = frozenset(
    _words(
        "calling call trying looking wondering having going just not so very really here there sorry fine good great "
        "okay ok yes no hi hello hey please thanks thank speaking from with at the a an about still also glad happy "
        "sure interested unable able afraid concerned customer member new back done ready and my is booking "
        "confirmation number account city zip code email password phone address id card order"
    )
)
GENERIC_CUES = frozenset(
    _words(
        "customer customers caller user agent value field given mentioned provided stated conversation call the said "
        "any their his her its which what when"
    )
)
