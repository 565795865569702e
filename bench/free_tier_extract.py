"""``ai_extract`` of the free tier measured against MultiDoGO's slot labels (dates, amounts, ids, names).

Each conversation's customer turns are read with one field per type, described as a user would (:data:`FIELDS`,
written from the type, not from the data). A value counts as right when its characters overlap a slot of that
type's group (:data:`SLOT_GROUPS`) in the same turn. Precision: right values / values reported; recall:
conversations where a right value is reported / conversations with such a slot. Dates are also given on calendar
values alone (``calendar_precision``, see :data:`CALENDAR`), and audited (``audited_precision``): a date counts right
when it overlaps a slot or a hand audit of the reports that overlap none (:data:`AUDIT`) judged it right; a report
the audit did not read counts wrong. MultiDoGO is lower-cased with most punctuation
removed, so recall is low by construction (``kyf 176``, ``2392018``); precision is the figure a
user relies on: a value the free tier reports should be there."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.free_tier_common import read_jsonl, shown
from metricstore.definitions import ExtractField
from metricstore.evaluation.local.extraction import _Line, extract_details

SLOT_GROUPS: dict[str, frozenset[str]] = {
    "date": frozenset(
        [
            "start_date",
            "end_date",
            "charge_date",
            "charge_time",
            "lastuseddate",
            "lastusedtime",
            "date",
            "departure_time",
            "arrival_time",
        ]
    ),
    "amount": frozenset(["charge_amount", "transferamount", "cost", "price"]),
    "id": frozenset(
        [
            "booking_confirmation_number",
            "order_number",
            "claimid",
            "policyid",
            "account_number",
            "target_account_number",
            "card_number",
            "account_id",
            "item_code",
            "flight_number",
        ]
    ),
    "name": frozenset({"name"}),
}
FIELDS = {
    "date": ExtractField(name="date", type="date", description="A date the customer gives."),
    "amount": ExtractField(name="amount", type="amount", description="An amount of money the customer mentions."),
    "id": ExtractField(
        name="reference", type="id", description="A reference number: booking, order, claim, policy, account or card."
    ),
    "name": ExtractField(name="customer_name", type="name", description="The customer's name."),
}
# A value said with digits or a month name; MultiDoGO's annotators tag these and almost never a relative day
# ("yesterday": 17 of 1,207 date slots), which is common in its chats, so the relative ones are counted apart.
CALENDAR = re.compile(r"\d|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b", re.IGNORECASE)
# A hand audit of the date reports that overlap no slot (MultiDoGO's labels miss most relative days): one line
# per report read, with ``conversation_id``, ``turn`` (index among the conversation's non-empty turns), ``text``
# (as said), ``value`` (as resolved), ``right`` and ``reason``. Judged by reading, strictly: right only for a
# specific day the customer states for the request and resolved as said.
AUDIT = Path(__file__).with_name("free_tier_date_audit.jsonl")
# MultiDoGO has no timestamps: dates are read against a fixed day.
REFERENCE = datetime(2018, 9, 1, 12, 0, tzinfo=UTC)


def _slot_spans(text: str, turn: dict[str, Any]) -> list[tuple[str, int, int]]:
    """(slot type, start, end) in characters of ``text`` from the turn's token-level slots."""
    tokens = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
    spans = []
    for slot in turn.get("slots") or []:
        first, last = slot["token_start"], slot["token_end"] - 1
        if 0 <= first <= last < len(tokens):
            spans.append((slot["type"], tokens[first][0], tokens[last][1]))
    return spans


def extraction(datasets: Path, quick: bool = False, per_domain: int = 100) -> dict[str, Any]:
    """Precision and recall per field type (see the module doc); ``quick`` reads ``per_domain`` per domain."""
    path = datasets / "multidogo" / "conversations.jsonl.gz"
    if not path.is_file():
        return {"skipped": f"{path} not found"}
    started = time.perf_counter()
    rows = sorted(read_jsonl(path), key=lambda r: r["conversation_id"])
    if quick:
        by_domain: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            by_domain.setdefault(r["domain"], []).append(r)
        rows = [r for domain in sorted(by_domain) for r in by_domain[domain][:per_domain]]
    counts = {
        k: {"reported": 0, "right": 0, "with_slot": 0, "found": 0, "relative": 0, "relative_right": 0} for k in FIELDS
    }
    audit = _audit()
    audited = {"right": 0, "covered": 0}
    for r in rows:
        turns = [t for t in r["turns"] if t["text"].strip()]
        lines = [_Line("user", t["text"]) for t in turns]
        spans = [_slot_spans(t["text"], t) for t in turns]
        for kind, field in FIELDS.items():
            group = SLOT_GROUPS[kind]
            has_slot = any(s[0] in group for line_spans in spans for s in line_spans)
            got = extract_details(lines, [field], REFERENCE)[field.name]
            c = counts[kind]
            c["with_slot"] += has_slot
            if got.value is None or got.line is None or got.start is None or got.end is None:
                continue
            right = any(
                s[0] in group and s[1] < got.end and got.start < s[2] for s in spans[got.line]
            )  # the value's characters overlap a slot of the group in its turn
            c["reported"] += 1
            c["right"] += right
            if kind == "date" and not CALENDAR.search(turns[got.line]["text"][got.start : got.end]):
                c["relative"] += 1
                c["relative_right"] += right
            c["found"] += right and has_slot
            if kind == "date":
                verdict = audit.get((r["conversation_id"], got.line, str(got.value))) if not right else None
                audited["covered"] += verdict is not None
                audited["right"] += right or bool(verdict)
    figures: dict[str, dict[str, Any]] = {
        kind: {
            "precision": round(c["right"] / c["reported"], 4) if c["reported"] else None,
            "recall": round(c["found"] / c["with_slot"], 4) if c["with_slot"] else None,
            "reported": c["reported"],
            "conversations_with_slot": c["with_slot"],
            "slot_types": sorted(SLOT_GROUPS[kind]),
        }
        for kind, c in counts.items()
    }
    dates = counts["date"]
    figures["date"]["calendar_precision"] = _ratio(
        dates["right"] - dates["relative_right"], dates["reported"] - dates["relative"]
    )
    figures["date"]["relative_reported"] = dates["relative"]
    figures["date"]["audited_precision"] = _ratio(audited["right"], dates["reported"])
    figures["date"]["audited_interval"] = wilson(audited["right"], dates["reported"])
    figures["date"]["audited_right"] = audited["right"]
    figures["date"]["audit_covered"] = audited["covered"]
    figures["date"]["unmatched"] = dates["reported"] - dates["right"]
    return {
        "dataset": shown(path),
        "conversations": len(rows),
        "fields": {k: f.description for k, f in FIELDS.items()},
        "per_type": figures,
        "seconds": round(time.perf_counter() - started, 1),
    }


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _audit() -> dict[tuple[str, int, str], bool]:
    """(conversation, turn, value) -> the audit's verdict; empty when the audit file is absent."""
    if not AUDIT.is_file():
        return {}
    return {(r["conversation_id"], int(r["turn"]), str(r["value"])): bool(r["right"]) for r in read_jsonl(AUDIT)}


def wilson(right: int, n: int) -> list[float] | None:
    """The Wilson score 95% interval of a proportion ``right`` of ``n`` (scipy)."""
    if not n:
        return None
    from scipy.stats import binomtest

    interval = binomtest(right, n).proportion_ci(confidence_level=0.95, method="wilson")
    return [round(float(interval.low), 4), round(float(interval.high), 4)]
