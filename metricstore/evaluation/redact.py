"""Redaction of phone numbers, e-mail addresses and card numbers before text leaves the machine."""

from __future__ import annotations

import re

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# 13–19 digits, optionally grouped by spaces or dashes: card-number shaped; Luhn decides.
_CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
# Phone shaped: +country and groups, (area) exchange-line, or a bare run of 10–15 digits. Privacy first: a
# long order number may be redacted too.
_PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)[\s.-]?|\d{2,4}[\s.-])?\d{3,4}[\s.-]?\d{3,4}(?!\d)"
    r"|(?<![\w+])\+?\d{10,15}(?!\d)"
)


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _phone(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return "[PHONE]" if len(digits) >= 7 else match.group(0)


def redact(text: str) -> str:
    """Replace e-mail addresses, card numbers (Luhn-valid) and phone numbers with placeholders."""
    text = _EMAIL.sub("[EMAIL]", text)
    kept: list[str] = []  # card-shaped numbers that fail Luhn: shielded from the phone pattern, then restored

    def card(match: re.Match[str]) -> str:
        if _luhn_ok(re.sub(r"\D", "", match.group(0))):
            return "[CARD]"
        kept.append(match.group(0))
        return f"\x00{len(kept) - 1}\x00"

    text = _PHONE.sub(_phone, _CARD.sub(card, text))
    return re.sub("\x00(\\d+)\x00", lambda m: kept[int(m.group(1))], text)
