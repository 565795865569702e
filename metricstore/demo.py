"""Deterministic demo landing data for one workspace, ``ws_demo`` (CONTRACT §3).

:func:`write_demo_landing` writes realistic landing files for every source under
``<landing>/<source>/...`` and a manifest ``<landing>/_demo.json``. Nothing reads the clock or the
network: the output is byte-identical for the same ``(end, hours, seed)``.

Layout written:

- ``call_intelligence/YYYY/MM/DD/HH.jsonl`` (even UTC hours) and ``HH.jsonl.gz`` (odd UTC hours),
  grouped by the UTC hour of ``occurred_at``;
- ``world_events/``, ``surface_events/``, ``connector_events/``, ``voice_judge_results/``:
  ``YYYY-MM-DD.jsonl`` per UTC day;
- ``emotion_events/YYYY-MM-DD.parquet`` per UTC day (``data`` as a JSON string column);
- ``_demo.json``: the :class:`DemoManifest`, written last.

Lines in every file are sorted by the instant of ``occurred_at``, then ``event_id``. The customer
turns of the transcripts come from the 60 shipped MultiDoGO sample conversations
(``metricstore/demo_data/multidogo``, CDLA-Permissive-1.0); agent turns come from small per-domain
templates. What the snapshot records beyond the sample (the customer's mood, a promised follow-up date) is also
said in the transcript, a line each, so that AI metrics can be checked against the snapshot's own fields. The
middle call-intelligence file carries exactly four deliberately malformed lines so that quarantine has something
to show.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Final, TypeVar

import pyarrow as pa
import pyarrow.parquet as pq

from metricstore.definitions import ENVELOPE_FIELDS
from metricstore.demo_labels import write_contact_reason_labels

DEMO_WORKSPACE = "ws_demo"
MANIFEST_NAME: Final = "_demo.json"

_T = TypeVar("_T")

_ENVELOPE_COLUMNS: Final = (*ENVELOPE_FIELDS, "data")
_CONVERSATIONS_PER_HOUR: Final = 70.0
# Relative traffic per UTC hour of day (normalized to a mean of 1 below): quiet nights, busy 08–20.
_HOUR_SHAPE: Final = (
    0.35, 0.30, 0.30, 0.30, 0.35, 0.45, 0.65, 0.85,
    1.20, 1.40, 1.50, 1.55, 1.50, 1.45, 1.50, 1.55, 1.50, 1.40, 1.30, 1.20,
    0.95, 0.75, 0.60, 0.45,
)  # fmt: skip
_OFFSETS: Final = ("+02:00", "-05:00")
_DIALOGUE_ACTS: Final = frozenset(
    {
        "openinggreeting",
        "closinggreeting",
        "thankyou",
        "confirmation",
        "rejection",
        "contentonly",
        "outofdomain",
    }
)


@dataclass(frozen=True)
class DemoManifest:
    """What :func:`write_demo_landing` wrote: the window and how much.

    ``start`` and ``end`` are naive UTC datetimes on the hour; ``start`` is inclusive, ``end`` exclusive.
    ``events`` counts every line and parquet row written, duplicates and malformed lines included;
    ``conversations`` counts distinct valid conversations (``data.id``).
    """

    workspace_id: str
    start: datetime
    end: datetime
    conversations: int
    events: int


# --------------------------------------------------------------------------------------------------
# Shipped sample conversations
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Turn:
    text: str
    intents: tuple[str, ...]
    slots: tuple[tuple[str, str], ...] | None  # (slot type, value); None where upstream tags were unusable


@dataclass(frozen=True)
class _Sample:
    conversation_id: str
    domain: str
    primary_intent: str | None
    turns: tuple[_Turn, ...]


@lru_cache(maxsize=1)
def _load_samples() -> tuple[_Sample, ...]:
    """Load the shipped MultiDoGO sample (customer turns only), skipping empty turns."""
    resource = resources.files("metricstore") / "demo_data" / "multidogo" / "sample_conversations.jsonl"
    samples: list[_Sample] = []
    for line in resource.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        raw = json.loads(line)
        turns: list[_Turn] = []
        for turn in raw["turns"]:
            text = " ".join(str(turn["text"]).split())
            if not text:
                continue
            slots_raw = turn.get("slots")
            slots = None if slots_raw is None else tuple((str(s["type"]), str(s["value"])) for s in slots_raw)
            turns.append(_Turn(text=text, intents=tuple(turn.get("intents") or ()), slots=slots))
        if turns:
            samples.append(
                _Sample(
                    conversation_id=str(raw["conversation_id"]),
                    domain=str(raw["domain"]),
                    primary_intent=(raw.get("labels") or {}).get("primary_intent"),
                    turns=tuple(turns),
                )
            )
    return tuple(samples)


# --------------------------------------------------------------------------------------------------
# Vocabulary: domains, intents, agents, contacts
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Domain:
    brand: str
    service_id: str
    greeting: tuple[str, ...]  # {brand}, {agent}
    clarify: tuple[str, ...]  # {phrase}
    confirm: tuple[str, ...]
    closing: tuple[str, ...]  # {brand}
    tools: tuple[str, ...]


_DOMAINS: Final[dict[str, _Domain]] = {
    "airline": _Domain(
        brand="SkyWays Air",
        service_id="svc_sales",
        greeting=(
            "Thank you for calling {brand}, this is {agent}. How can I help you today?",
            "Hello and welcome to {brand}. My name is {agent}, what can I do for you?",
        ),
        clarify=("Sure, I can help you with {phrase}.", "Of course, let me look into {phrase} for you."),
        confirm=(
            "I have pulled up your reservation and made the change. Does that look right to you?",
            "Your itinerary is updated. Shall I send the confirmation to your email?",
        ),
        closing=("Thank you for flying with {brand}. Have a great trip!", "Enjoy your flight with {brand}!"),
        tools=("lookup_booking", "search_flights", "update_seat", "issue_boarding_pass"),
    ),
    "fastfood": _Domain(
        brand="Crust & Bun",
        service_id="svc_sales",
        greeting=(
            "Hi, thanks for choosing {brand}! This is {agent}. What can I get started for you?",
            "Welcome to {brand}, {agent} speaking. Are you ordering today?",
        ),
        clarify=("Great choice, I can set up {phrase}.", "Sure thing, let me start {phrase} for you."),
        confirm=(
            "I have your order in the system. Does everything look correct?",
            "Let me read that back to you. Is the order right?",
        ),
        closing=("Thanks for ordering from {brand}. Enjoy your meal!", "Your order is on its way. Enjoy!"),
        tools=("lookup_menu", "create_order", "apply_coupon", "estimate_delivery"),
    ),
    "finance": _Domain(
        brand="Summit Bank",
        service_id="svc_billing",
        greeting=(
            "Thank you for contacting {brand}, this is {agent}. How may I help you?",
            "Good day, you have reached {brand}. My name is {agent}, how can I assist?",
        ),
        clarify=("I can certainly help with {phrase}.", "No problem, I will help you with {phrase}."),
        confirm=(
            "I have verified your identity and processed the request. Is that what you wanted?",
            "That is done on your account. Is that correct?",
        ),
        closing=(
            "Thank you for banking with {brand}. Have a good day.",
            "Thanks for contacting {brand}. Take care.",
        ),
        tools=("verify_identity", "get_balance", "block_card", "create_dispute", "transfer_funds"),
    ),
    "insurance": _Domain(
        brand="ShieldSure Insurance",
        service_id="svc_support",
        greeting=(
            "Thank you for calling {brand}, my name is {agent}. How can I help?",
            "Hello, this is {agent} with {brand}. What can I do for you today?",
        ),
        clarify=("I can help you with {phrase}.", "Let me check on {phrase} for you."),
        confirm=(
            "I found your policy and updated the request. Does that sound right?",
            "The document is ready. Would you like it sent to the email on file?",
        ),
        closing=(
            "Thank you for being a {brand} customer. Goodbye.",
            "Thanks for calling {brand}. Stay safe.",
        ),
        tools=("lookup_policy", "get_claim_status", "send_proof_of_insurance", "open_claim"),
    ),
    "media": _Domain(
        brand="StreamNet",
        service_id="svc_billing",
        greeting=(
            "Thanks for contacting {brand}, this is {agent}. How can I help you today?",
            "Hi, you have reached {brand}. I am {agent}, what can I do for you?",
        ),
        clarify=("I would be happy to help with {phrase}.", "Sure, let me pull up {phrase} for you."),
        confirm=(
            "I have set that up on your account. Does everything look good?",
            "Your service details are updated. Is that what you were looking for?",
        ),
        closing=(
            "Thanks for choosing {brand}. Enjoy your service!",
            "Thank you for contacting {brand}. Bye!",
        ),
        tools=("lookup_account", "check_service_availability", "get_bill", "update_plan"),
    ),
    "software": _Domain(
        brand="Cloudly Software",
        service_id="svc_support",
        greeting=(
            "Thank you for contacting {brand} support, this is {agent}. What seems to be the problem?",
            "Hi, {agent} from {brand} here. How can I help?",
        ),
        clarify=("I can help you with {phrase}.", "Let me take a look at {phrase}."),
        confirm=(
            "I have applied the fix on our side. Can you confirm it works now?",
            "The request is logged and processed. Does that cover it?",
        ),
        closing=(
            "Thank you for contacting {brand} support. Have a great day!",
            "Glad I could help. Goodbye!",
        ),
        tools=("check_server_status", "create_support_ticket", "lookup_order", "push_update"),
    ),
}
_SERVICE_WEIGHTS: Final = (("svc_support", 0.45), ("svc_sales", 0.30), ("svc_billing", 0.25))

_INTENT_PHRASES: Final[dict[str, str]] = {
    "bookflight": "booking a flight",
    "changeseatassignment": "changing a seat assignment",
    "getseatinfo": "seat information",
    "getboardingpass": "getting a boarding pass",
    "orderpizzaintent": "a pizza order",
    "orderburgerintent": "a burger order",
    "orderdrinkintent": "a drink order",
    "ordersaladintent": "a salad order",
    "orderdessertintent": "a dessert order",
    "ordersideintent": "a side order",
    "orderbreakfastintent": "a breakfast order",
    "reportlostcard": "reporting a lost card",
    "replacecard": "replacing a card",
    "updateaddress": "updating an address",
    "checkbalance": "checking an account balance",
    "transfermoney": "a money transfer",
    "disputecharge": "disputing a charge",
    "closeaccount": "closing an account",
    "openaccount": "opening an account",
    "getroutingnumber": "getting a routing number",
    "checkoffereligibility": "checking offer eligibility",
    "orderchecks": "ordering checks",
    "getproofofinsurance": "proof of insurance",
    "checkclaimstatus": "checking a claim status",
    "reportbrokenphone": "reporting a broken phone",
    "startserviceintent": "starting a new service",
    "getinformationintent": "service information",
    "viewbillsintent": "viewing bills",
    "transferserviceintent": "transferring a service",
    "upgradeserviceintent": "upgrading a service",
    "cancelserviceintent": "cancelling a service",
    "viewdatausageintent": "checking data usage",
    "getchannelpackageintent": "channel packages",
    "updateaccountinfo": "updating account information",
    "reportbrokensoftware": "reporting broken software",
    "softwareupdate": "a software update",
    "expensereport": "an expense report",
    "startorder": "starting an order",
    "checkserverstatus": "checking server status",
    "changeorder": "changing an order",
    "providereceipt": "providing a receipt",
    "stoporder": "stopping an order",
    "getpromotions": "current promotions",
}
_SLOT_NAMES: Final[dict[str, str]] = {
    "phonenumber": "phone number",
    "ssn": "social security number",
    "claimid": "claim ID",
    "policyid": "policy ID",
    "account_id": "account ID",
    "datacategoryvalues": "details",
    "current_zipcode": "current ZIP code",
    "new_zipcode": "new ZIP code",
    "transferamount": "transfer amount",
    "lastuseddate": "date you last used it",
    "lastusedtime": "time you last used it",
}
_PERSONAL_SLOTS: Final = frozenset(
    {
        "name",
        "email_address",
        "phone_number",
        "phonenumber",
        "address",
        "ssn",
        "username",
        "password",
        "account_number",
        "card_number",
        "account_id",
        "policyid",
        "claimid",
        "booking_confirmation_number",
        "current_city",
        "current_zipcode",
    }
)
_AGENTS: Final = (
    ("agt_01", "Alex", 6.0),
    ("agt_02", "Priya", 4.0),
    ("agt_03", "Jordan", 3.0),
    ("agt_04", "Maya", 2.0),
    ("agt_05", "Sam", 1.0),
    ("agt_06", "Elena", 0.0),
    ("agt_07", "Chris", 0.0),
    ("agt_08", "Fatima", -1.0),
    ("agt_09", "Lucas", -2.0),
    ("agt_10", "Hannah", -3.0),
    ("agt_11", "Omar", -5.0),
    ("agt_12", "Grace", -8.0),
)  # (agentId, first name, skill: shifts sentiment and quality)
_FIRST_NAMES: Final = (
    "James", "Maria", "Wei", "Aisha", "Carlos", "Emma", "Noah", "Olivia", "Liam", "Sofia", "Mateo",
    "Chloe", "Ethan", "Zara", "Lucas", "Amara", "Daniel", "Yuki", "Ravi", "Fatou", "Ivan", "Leila",
    "Tom", "Nora", "Kofi", "Ines", "Diego", "Hana", "Sean", "Mei",
)  # fmt: skip
_LAST_NAMES: Final = (
    "Smith", "Garcia", "Chen", "Okafor", "Johnson", "Müller", "Rossi", "Kim", "Patel", "Nguyen",
    "Brown", "Silva", "Dubois", "Kowalski", "Haddad", "Andersen", "Lopez", "Tanaka", "Ahmed", "Novak",
    "Walker", "Costa", "Murphy", "Singh", "Cohen",
)  # fmt: skip
_AREA_CODES: Final = ("212", "312", "415", "617", "206", "512", "303", "404", "305", "702")
_CONTACT_POOL_SIZE: Final = 2000


@dataclass(frozen=True)
class _Contact:
    contact_id: str
    name: str
    phone: str


# --------------------------------------------------------------------------------------------------
# Events and the generator
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Event:
    at: datetime  # naive UTC instant
    tz: str  # "Z" or an offset such as "+02:00": how occurred_at is spelled
    event_id: str
    source: str
    event_type: str
    session_id: str | None
    service_id: str | None
    channel: str | None
    direction: str | None
    is_simulation: bool
    data: dict[str, Any]
    copies: int = 1


@dataclass(frozen=True)
class _Conversation:
    conv_id: str
    session_id: str
    service_id: str
    domain: str
    channel: str
    direction: str | None
    is_simulation: bool
    start: datetime
    end: datetime
    sentiment: str
    status: str
    call_status: str
    quality: float
    intent: str
    roles: tuple[str, ...]  # the role of each transcription entry


# What a customer says in a call the snapshot records as negative or positive, and how an agent promises a follow-up
# date: written as people say them, not from the free tier's lexicon.
_MOOD_LINES: Final = {
    "negative": (
        "Honestly this has been really frustrating, I have been waiting far too long for this.",
        "I am not happy with how this has been handled at all.",
        "This is the second time I have had to contact you about this and it is still not sorted.",
        "I am really disappointed, this should have been simple.",
        "That is not acceptable, I expected a lot better from you.",
        "I have wasted my whole morning on this, it is ridiculous.",
    ),
    "positive": (
        "Thank you so much, you have been really helpful!",
        "Great, that was quick and easy, I really appreciate it.",
        "Perfect, thanks a lot for sorting that out for me.",
        "Wonderful, that is exactly what I needed. Thanks!",
        "You have been brilliant, thank you for your patience.",
    ),
}
_FOLLOW_UP_LINES: Final = (
    "I will call you back on {date} with an update.",
    "We will get back to you by {date}.",
    "Expect a call from us on {date} to follow up.",
    "I will follow up with you on {date}.",
)


def _spoken_date(day: str) -> str:
    """2026-12-04 as said: Friday, December 4."""
    at = datetime.fromisoformat(day)
    return f"{at:%A}, {at:%B} {at.day}"


def _iso_z(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _occurred(at: datetime, tz: str) -> str:
    """Spell a naive UTC instant as ISO-8601 with ``Z`` or the same instant in the offset ``tz``."""
    if tz == "Z":
        return _iso_z(at)
    sign = 1 if tz[0] == "+" else -1
    local = at + sign * timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6]))
    return local.strftime("%Y-%m-%dT%H:%M:%S") + tz


def _weighted(rng: random.Random, options: Sequence[tuple[_T, float]]) -> _T:
    values = [o for o, _ in options]
    weights = [w for _, w in options]
    return rng.choices(values, weights=weights, k=1)[0]


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def _join(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _slot_name(slot_type: str) -> str:
    return _SLOT_NAMES.get(slot_type, slot_type.replace("_", " "))


def _phrase(intent: str) -> str:
    return _INTENT_PHRASES.get(intent, "a general inquiry")


class _Generator:
    """Holds the seeded RNG and everything drawn from it, in a fixed order."""

    def __init__(self, rng: random.Random, start: datetime, end: datetime) -> None:
        self.rng = rng
        self.start = start
        self.end = end
        self.samples = _load_samples()
        self.samples_by_service: dict[str, list[_Sample]] = defaultdict(list)
        for sample in self.samples:
            self.samples_by_service[_DOMAINS[sample.domain].service_id].append(sample)
        self.seen_ids: set[str] = set()
        self.contacts = [self._contact() for _ in range(_CONTACT_POOL_SIZE)]

    # ---- identifiers ---------------------------------------------------------------------------

    def _hex(self, digits: int) -> str:
        return f"{self.rng.getrandbits(digits * 4):0{digits}x}"

    def _unique(self, prefix: str, digits: int) -> str:
        while True:
            value = prefix + self._hex(digits)
            if value not in self.seen_ids:
                self.seen_ids.add(value)
                return value

    def event_id(self) -> str:
        return self._unique("evt_", 16)

    def _contact(self) -> _Contact:
        rng = self.rng
        name = f"{rng.choice(_FIRST_NAMES)} {rng.choice(_LAST_NAMES)}"
        phone = f"+1{rng.choice(_AREA_CODES)}55501{rng.randrange(100):02d}"  # 555-01xx: fictional numbers
        return _Contact(contact_id=self._unique("cnt_", 12), name=name, phone=phone)

    def tz(self) -> str:
        """About 5% of events spell occurred_at with an offset instead of Z."""
        return self.rng.choice(_OFFSETS) if self.rng.random() < 0.05 else "Z"

    # ---- transcripts ---------------------------------------------------------------------------

    def _agent_turn(
        self,
        dom: _Domain,
        prev: _Turn,
        nxt: _Turn,
        mentioned: set[str],
        collected: list[str],
        asked: list[str],
    ) -> str:
        """The agent line between two customer turns: acknowledge ``prev``, ask for what ``nxt`` gives."""
        rng = self.rng
        ack = ""
        prev_tasks = [i for i in prev.intents if i not in _DIALOGUE_ACTS]
        if prev_tasks and prev_tasks[0] not in mentioned:
            mentioned.update(prev_tasks)
            ack = rng.choice(dom.clarify).format(phrase=_phrase(prev_tasks[0]))
        elif prev.slots:
            ack = rng.choice(("Thank you.", "Got it, thanks.", "Perfect.", "Thanks for that."))
        elif "openinggreeting" in prev.intents:
            ack = rng.choice(("Hello!", "Hi there!"))
        elif "confirmation" in prev.intents:
            ack = rng.choice(("Great.", "Alright.", "Okay."))
        elif "rejection" in prev.intents:
            ack = rng.choice(("No problem.", "Understood."))
        elif "outofdomain" in prev.intents:
            ack = "I understand."

        nxt_tasks = [i for i in nxt.intents if i not in _DIALOGUE_ACTS]
        if nxt.slots:
            types = list(dict.fromkeys(t for t, _ in nxt.slots))[:3]
            names = _join([_slot_name(t) for t in types])
            article = "your" if types[0] in _PERSONAL_SLOTS else "the"
            templates = (
                ("Sorry, could you repeat {a} {n}?", "Could you give me {a} full {n}, please?")
                if types == asked
                else (
                    "Could you please give me {a} {n}?",
                    "What is {a} {n}, please?",
                    "To continue, I will need {a} {n}.",
                    "Can you tell me {a} {n}?",
                )
            )
            ask = rng.choice(templates).format(a=article, n=names)
            asked[:] = types
            collected.extend(_slot_name(t) for t in types if _slot_name(t) not in collected)
        elif nxt_tasks and not mentioned:
            ask = rng.choice(("How can I help you today?", "What can I do for you today?", "What do you need?"))
        elif nxt_tasks:
            ask = "Is there anything else I can help you with?"
        elif "confirmation" in nxt.intents:
            if collected and rng.random() < 0.5:
                ask = f"Just to confirm, I have your {_join(collected[-3:])}. Is that correct?"
            else:
                ask = rng.choice(dom.confirm)
        elif "thankyou" in nxt.intents:
            ask = rng.choice(("You're all set.", "That's all taken care of.", "Everything is done on my side."))
        elif {"rejection", "closinggreeting"} & set(nxt.intents):
            ask = rng.choice(("Is there anything else I can help you with today?", "Anything else I can do?"))
        elif "contentonly" in nxt.intents:
            ask = rng.choice(("Could you share the details, please?", "Can you give me a bit more detail?"))
        else:
            ask = rng.choice(("Please go ahead.", "Could you tell me a bit more?", "I am listening."))
        return f"{ack} {ask}".strip()

    def transcript(
        self,
        sample: _Sample,
        dom: _Domain,
        agent_name: str,
        status: str,
        call_status: str,
        intent: str,
        *,
        sentiment: str,
        promised: str | None,
    ) -> list[dict[str, str]]:
        """The conversation as said: the sample's customer turns between agent lines, and what the snapshot's own
        fields record (the customer's mood, a promised follow-up date) said in it, as a real call would."""
        rng = self.rng
        when = _spoken_date(promised) if promised is not None else None
        if call_status == "voicemail":
            text = (
                f"Hi, this is {agent_name} from {dom.brand} returning your call about {_phrase(intent)}. "
                + (f"I will try you again on {when}. " if when else "")
                + "Please call us back at your convenience. Thank you."
            )
            return [{"role": "assistant", "content": text}]
        turns = list(sample.turns)
        if status in ("abandoned", "failed") and len(turns) > 1:
            turns = turns[: max(1, len(turns) // 2)]
        out = [
            {
                "role": "assistant",
                "content": rng.choice(dom.greeting).format(brand=dom.brand, agent=agent_name),
            }
        ]
        mentioned: set[str] = set()
        collected: list[str] = []
        asked: list[str] = []
        for index, turn in enumerate(turns):
            if index > 0:
                line = self._agent_turn(dom, turns[index - 1], turn, mentioned, collected, asked)
                out.append({"role": "assistant", "content": line})
            out.append({"role": "user", "content": turn.text})
        if sentiment in _MOOD_LINES and status not in ("abandoned", "failed"):
            out.append({"role": "user", "content": rng.choice(_MOOD_LINES[sentiment])})
        if status == "escalated":
            last = "I am going to transfer you to a specialist who can help further. Please hold for a moment."
        elif status == "abandoned":
            last = "Hello? Are you still there?"
        elif status == "failed":
            last = "I am sorry, our system is having trouble right now."
        elif call_status == "unresolved":
            last = "I am sorry I could not sort this out today. We will follow up with you."
        else:
            last = rng.choice(dom.closing).format(brand=dom.brand)
        if when is not None and status != "abandoned":
            last += " " + rng.choice(_FOLLOW_UP_LINES).format(date=when)
        out.append({"role": "assistant", "content": last})
        return out

    # ---- one conversation ----------------------------------------------------------------------

    def conversation(self, final_at: datetime) -> tuple[_Conversation, list[_Event]]:
        """Draw one conversation whose final snapshot occurs at ``final_at``, plus its other events."""
        rng = self.rng
        service_id = _weighted(rng, _SERVICE_WEIGHTS)
        sample = rng.choice(self.samples_by_service[service_id])
        dom = _DOMAINS[sample.domain]
        agent_id, agent_name, skill = rng.choice(_AGENTS)
        contact = rng.choice(self.contacts)
        channel = "voice" if rng.random() < 0.65 else "text"
        direction: str | None = "inbound" if rng.random() < 0.75 else "outbound"
        if channel == "text" and rng.random() < 0.02:
            direction = None
        is_simulation = rng.random() < 0.05
        intent = sample.primary_intent or "other"

        p_neg = 0.20 - 0.012 * skill
        p_pos = 0.45 + 0.015 * skill
        sentiment = _weighted(rng, (("positive", p_pos), ("neutral", 1.0 - p_pos - p_neg), ("negative", p_neg)))
        status_weights = {
            "positive": (("completed", 0.945), ("escalated", 0.02), ("abandoned", 0.02), ("failed", 0.015)),
            "neutral": (("completed", 0.87), ("escalated", 0.06), ("abandoned", 0.05), ("failed", 0.02)),
            "negative": (("completed", 0.57), ("escalated", 0.30), ("abandoned", 0.10), ("failed", 0.03)),
        }[sentiment]
        status = _weighted(rng, status_weights)
        if status == "escalated":
            call_status = "escalated"
        elif status == "abandoned" and channel == "voice" and direction == "outbound":
            call_status = "voicemail"
            sentiment = "neutral"
        elif status in ("abandoned", "failed"):
            call_status = "unresolved"
        else:
            p_unresolved = {"positive": 0.02, "neutral": 0.08, "negative": 0.35}[sentiment]
            call_status = "unresolved" if rng.random() < p_unresolved else "resolved"

        if channel == "voice":
            duration = _clamp(rng.lognormvariate(math.log(330.0), 0.55), 60.0, 1200.0)
        else:
            duration = _clamp(rng.lognormvariate(math.log(170.0), 0.6), 30.0, 900.0)
        if call_status == "voicemail":
            duration = rng.uniform(30.0, 90.0)
        elif status in ("abandoned", "failed"):
            duration = max(30.0, duration * rng.uniform(0.2, 0.5))
        duration_s = round(duration)
        end = final_at - timedelta(seconds=rng.randint(5, 90))  # post-call analysis lands shortly after
        start = end - timedelta(seconds=duration_s)

        p_callback = 0.5 if status == "escalated" else 0.4 if call_status == "unresolved" else 0.05
        if sentiment == "negative":
            p_callback = max(p_callback, 0.35)
        callback = call_status == "voicemail" or rng.random() < p_callback
        p_ticket = 0.7 if status == "escalated" else 0.4 if sentiment == "negative" else 0.08
        ticket = rng.random() < p_ticket
        follow_up: str | None = None
        if callback:
            follow_up = "Call the customer back"
        elif status == "escalated":
            follow_up = "Specialist review of the escalated case"
        elif call_status == "unresolved":
            follow_up = rng.choice(("Send an email follow-up", "Check the request status"))
        elif ticket:
            follow_up = "Monitor the support ticket"
        promised = None
        if callback or (follow_up is not None and rng.random() < 0.5):
            promised = (final_at + timedelta(days=rng.randint(1, 5))).date().isoformat()
        transcription = self.transcript(
            sample, dom, agent_name, status, call_status, intent, sentiment=sentiment, promised=promised
        )
        quality = {"positive": 82.0, "neutral": 70.0, "negative": 48.0}[sentiment] + skill + rng.gauss(0.0, 8.0)
        quality += {"completed": 0.0, "escalated": -5.0, "abandoned": -15.0, "failed": -20.0}[status]
        quality = round(_clamp(quality, 0.0, 100.0), 1)
        ticket_no = f"TCK-{rng.randrange(10000, 100000)}"

        phrase = _phrase(intent)
        outcome = {
            "resolved": f"The agent completed the request for {phrase}.",
            "unresolved": "The request was not fully resolved.",
            "escalated": "The case was escalated to a specialist.",
            "voicemail": "The agent left a voicemail.",
        }[call_status]
        if status == "abandoned" and call_status != "voicemail":
            outcome = "The customer disconnected before the request was resolved."
        elif status == "failed":
            outcome = "The conversation ended because of a technical failure."
        mood = {
            "positive": "The customer was satisfied with the service.",
            "neutral": "The customer's tone was neutral.",
            "negative": "The customer was frustrated during the conversation.",
        }[sentiment]
        summary = f"The customer contacted {dom.brand} about {phrase}. {outcome}"
        if call_status != "voicemail":
            summary += f" {mood}"
        if promised is not None:
            summary += f" A follow-up was promised by {promised}."

        key_points = [f"Customer contacted {dom.brand} about {phrase}."]
        used_turns = sum(1 for entry in transcription if entry["role"] == "user")
        slot_types = [t for turn in sample.turns[:used_turns] for t, _ in (turn.slots or ())]
        for slot_type in list(dict.fromkeys(slot_types))[:2]:
            key_points.append(f"Customer provided their {_slot_name(slot_type)}.")
        key_points.append(outcome)
        if sentiment == "negative":
            key_points.append("Customer expressed frustration.")
        key_points = key_points[: rng.randint(1, 4)]
        action_items: list[str] = []
        if callback:
            action_items.append(f"Call the customer back by {promised}.")
        if ticket:
            action_items.append(f"Track support ticket {ticket_no}.")
        if status == "escalated":
            action_items.append("Specialist to review the escalated case.")
        if call_status == "unresolved":
            action_items.append(f"Follow up on {phrase}.")
        action_items = action_items[:3]

        conv_id = self._unique("conv_", 16)
        session_id = self._unique("CA", 32)
        final_data: dict[str, Any] = {
            "id": conv_id,
            "snapshot_version": 1,
            "contactId": contact.contact_id,
            "agentId": agent_id,
            "status": status,
            "startTime": _iso_z(start),
            "endTime": _iso_z(end),
            "duration": duration_s,
            "phoneNumber": contact.phone if channel == "voice" else None,
            "contactName": contact.name,
            "recordingUrl": f"https://recordings.example.com/{conv_id}.wav" if channel == "voice" else None,
            "transcription": transcription,
            "summary": summary,
            "intent": intent,
            "sentiment": sentiment,
            "confidence": round(_clamp(rng.uniform(0.72, 0.98) - (0.12 if len(transcription) < 4 else 0.0), 0, 1), 2),
            "keyPoints": key_points,
            "actionItems": action_items,
            "callStatus": call_status,
            "callbackRequired": callback,
            "promisedDate": promised,
            "selfEvaluation": int(_clamp(round(quality / 10.0 + rng.gauss(0.5, 1.0)), 1, 10)),
            "followUpAction": follow_up,
            "ticketRaised": ticket,
            "quality_score": quality,
        }
        conv = _Conversation(
            conv_id=conv_id,
            session_id=session_id,
            service_id=service_id,
            domain=sample.domain,
            channel=channel,
            direction=direction,
            is_simulation=is_simulation,
            start=start,
            end=end,
            sentiment=sentiment,
            status=status,
            call_status=call_status,
            quality=quality,
            intent=intent,
            roles=tuple(entry["role"] for entry in transcription),
        )

        events: list[_Event] = []
        if rng.random() < 0.30:  # an earlier in-progress snapshot a few minutes before the final one
            fraction = rng.uniform(0.35, 0.75)
            early_at = start + timedelta(seconds=round(duration_s * fraction))
            if early_at >= self.start:
                final_data["snapshot_version"] = 2
                early = {
                    "id": conv_id,
                    "snapshot_version": 1,
                    "contactId": contact.contact_id,
                    "agentId": agent_id,
                    "status": "in_progress",
                    "startTime": _iso_z(start),
                    "phoneNumber": final_data["phoneNumber"],
                    "contactName": contact.name,
                    "transcription": transcription[: max(1, round(len(transcription) * fraction))],
                }
                events.append(self._event(conv, early_at, "call_intelligence", "call_intelligence.row", early))
        copies = 2 if rng.random() < 0.01 else 1
        events.append(self._event(conv, final_at, "call_intelligence", "call_intelligence.row", final_data, copies))
        events.extend(self._side_events(conv, dom))
        return conv, events

    def _event(
        self,
        conv: _Conversation,
        at: datetime,
        source: str,
        event_type: str,
        data: dict[str, Any],
        copies: int = 1,
        channel: str | None = None,
    ) -> _Event:
        return _Event(
            at=at,
            tz=self.tz(),
            event_id=self.event_id(),
            source=source,
            event_type=event_type,
            session_id=conv.session_id,
            service_id=conv.service_id,
            channel=channel or conv.channel,
            direction=conv.direction,
            is_simulation=conv.is_simulation,
            data=data,
            copies=copies,
        )

    def _during(self, conv: _Conversation) -> datetime | None:
        """A whole-second instant during the conversation and inside the window, or None if none fits."""
        low = max(conv.start, self.start)
        if low > conv.end:
            return None
        return low + timedelta(seconds=self.rng.randint(0, int((conv.end - low).total_seconds())))

    def _count(self) -> int:
        return _weighted(self.rng, ((0, 0.25), (1, 0.35), (2, 0.27), (3, 0.13)))

    def _side_events(self, conv: _Conversation, dom: _Domain) -> list[_Event]:
        rng = self.rng
        events: list[_Event] = []
        bad = conv.sentiment == "negative" or conv.status in ("failed", "abandoned")

        # world_events: tool calls, a handoff for escalations, goal completion for resolved calls
        kinds = [
            _weighted(rng, (("tool_call", 0.75), ("handoff", 0.1), ("goal_completed", 0.15)))
            for _ in range(self._count())
        ]
        if conv.status == "escalated" and "handoff" not in kinds:
            kinds.append("handoff")
        if conv.call_status != "resolved":
            kinds = [k for k in kinds if k != "goal_completed"]
        for kind in kinds[:3]:
            at = self._during(conv)
            if at is None:
                break
            if kind == "tool_call":
                name = rng.choice(dom.tools)
                duration_ms = round(_clamp(rng.lognormvariate(math.log(400.0), 0.7), 20, 15000))
                outcome = "failure" if rng.random() < (0.15 if bad else 0.04) else "success"
            elif kind == "handoff":
                name = rng.choice(("human_agent", "tier2_support", "billing_specialist"))
                duration_ms = rng.randint(500, 8000)
                outcome = "failure" if rng.random() < 0.08 else "success"
            else:
                name = conv.intent
                duration_ms = rng.randint(1000, 60000)
                outcome = "success"
            data = {"name": name, "outcome": outcome, "duration_ms": duration_ms}
            events.append(self._event(conv, at, "world_events", f"world_events.{kind}", data))

        # surface_events: widget, SMS and email touch points
        for _ in range(self._count()):
            at = self._during(conv)
            if at is None:
                break
            kind = _weighted(rng, (("impression", 0.6), ("click", 0.3), ("error", 0.1)))
            if conv.channel == "text":
                surface = "web_widget" if rng.random() < 0.7 else "sms"
            else:
                surface = "sms" if rng.random() < 0.5 else "email"
            element = rng.choice(
                {
                    "web_widget": ("chat_launcher", "message_input", "send_button", "csat_survey"),
                    "sms": ("sms_link", "sms_reply", "appointment_link"),
                    "email": ("email_summary", "email_cta", "unsubscribe_link"),
                }[surface]
            )
            error_code = None
            if kind == "error":
                error_code = rng.choice(("E_WIDGET_LOAD", "E_SEND_FAILED", "E_TIMEOUT", "E_RENDER"))
            data = {"surface": surface, "element": element, "error_code": error_code}
            events.append(self._event(conv, at, "surface_events", f"surface_events.{kind}", data, channel="surface"))

        # emotion_events: correlated with the conversation's sentiment
        emotion_weights = {
            "positive": (("joy", 0.55), ("neutral", 0.35), ("confusion", 0.07), ("frustration", 0.03)),
            "neutral": (("neutral", 0.5), ("confusion", 0.2), ("joy", 0.15), ("frustration", 0.15)),
            "negative": (
                ("frustration", 0.35),
                ("anger", 0.25),
                ("confusion", 0.15),
                ("neutral", 0.15),
                ("joy", 0.1),
            ),
        }[conv.sentiment]
        for _ in range(self._count()):
            at = self._during(conv)
            if at is None:
                break
            speaker = "user" if rng.random() < 0.75 and "user" in conv.roles else "assistant"
            span = max(1.0, (conv.end - conv.start).total_seconds())
            position = int((at - conv.start).total_seconds() / span * (len(conv.roles) - 1) + 0.5)
            candidates = [i for i, role in enumerate(conv.roles) if role == speaker]
            turn_index = min(candidates, key=lambda i: (abs(i - position), i))
            if speaker == "assistant":
                emotion = "neutral" if rng.random() < 0.7 else "joy"
            else:
                emotion = _weighted(rng, emotion_weights)
            base = {"joy": 0.6, "neutral": 0.3, "frustration": 0.6, "anger": 0.75, "confusion": 0.5}[emotion]
            intensity = round(_clamp(rng.gauss(base, 0.15), 0.0, 1.0), 3)
            data = {"emotion": emotion, "intensity": intensity, "speaker": speaker, "turn_index": turn_index}
            events.append(self._event(conv, at, "emotion_events", "emotion_events.detected", data))

        # connector_events: CRM, ticketing, payments and calendar calls
        connectors = {
            "svc_support": (("zendesk", 0.6), ("salesforce", 0.25), ("calendar", 0.15)),
            "svc_sales": (("salesforce", 0.55), ("calendar", 0.3), ("stripe", 0.15)),
            "svc_billing": (("stripe", 0.6), ("salesforce", 0.25), ("zendesk", 0.15)),
        }[conv.service_id]
        operations = {
            "salesforce": ("get_contact", "update_contact", "create_opportunity", "log_activity"),
            "zendesk": ("create_ticket", "update_ticket", "search_tickets"),
            "stripe": ("get_customer", "list_invoices", "create_refund", "update_payment_method"),
            "calendar": ("find_slots", "create_event", "cancel_event"),
        }
        for _ in range(self._count()):
            at = self._during(conv)
            if at is None:
                break
            connector = _weighted(rng, connectors)
            operation = rng.choice(operations[connector])
            status = _weighted(rng, (("success", 0.9), ("error", 0.06), ("timeout", 0.04)))
            if status == "success":
                http_status = 201 if operation.startswith("create_") else 200
                latency_ms = round(_clamp(rng.lognormvariate(math.log(250.0), 0.6), 15, 9000))
            elif status == "error":
                http_status = rng.choice((400, 401, 404, 409, 422, 429, 500, 502, 503))
                latency_ms = round(_clamp(rng.lognormvariate(math.log(300.0), 0.7), 15, 9000))
            else:
                http_status = 504
                latency_ms = rng.randint(10000, 30000)
            data = {
                "connector": connector,
                "operation": operation,
                "status": status,
                "latency_ms": latency_ms,
                "http_status": http_status,
            }
            events.append(self._event(conv, at, "connector_events", "connector_events.request", data))

        # voice_judge_results: voice conversations only, one score per judge at most
        if conv.channel == "voice":
            judges = rng.sample(("voice_quality", "policy_adherence", "task_completion"), k=self._count())
            for judge in judges:
                at = self._during(conv)
                if at is None:
                    break
                centre = (
                    conv.quality / 10.0 + {"voice_quality": 0.3, "policy_adherence": 0.8, "task_completion": 0.0}[judge]
                )
                if judge == "task_completion" and conv.call_status != "resolved":
                    centre -= 2.5
                score = round(_clamp(rng.gauss(centre, 1.0), 0.0, 10.0), 1)
                data = {
                    "judge": judge,
                    "score": score,
                    "passed": score >= 6.0,
                    "conversation_id": conv.conv_id,
                }
                events.append(self._event(conv, at, "voice_judge_results", "voice_judge_results.scored", data))
        return events

    # ---- malformed lines -----------------------------------------------------------------------

    def malformed_lines(self, hour_start: datetime) -> list[tuple[datetime, str, str]]:
        """Four deliberately broken call_intelligence lines in the hour starting at ``hour_start``."""
        lines: list[tuple[datetime, str, str]] = []
        for kind in ("truncated", "no_workspace", "string_bool", "no_data_id"):
            at = hour_start + timedelta(seconds=self.rng.randrange(3600))
            _, events = self.conversation(at)  # a throwaway conversation; only its final row is used
            final = next(e for e in events if e.source == "call_intelligence" and e.at == at)
            envelope = _envelope(final)
            if kind == "no_workspace":
                del envelope["workspace_id"]
            elif kind == "string_bool":
                envelope["is_simulation"] = "no"
            elif kind == "no_data_id":
                envelope["data"] = {k: v for k, v in envelope["data"].items() if k != "id"}
            text = _dumps(envelope)
            if kind == "truncated":
                text = text[: len(text) // 2]
            lines.append((at, final.event_id, text))
        return lines


def _envelope(event: _Event) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "source": event.source,
        "event_type": event.event_type,
        "workspace_id": DEMO_WORKSPACE,
        "occurred_at": _occurred(event.at, event.tz),
        "session_id": event.session_id,
        "service_id": event.service_id,
        "channel": event.channel,
        "direction": event.direction,
        "is_simulation": event.is_simulation,
        "data": event.data,
    }


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _normalize_end(end: datetime) -> datetime:
    """Naive UTC, floored to the hour (an aware ``end`` is converted to UTC first)."""
    if end.tzinfo is not None:
        end = end.astimezone(UTC).replace(tzinfo=None)
    return end.replace(minute=0, second=0, microsecond=0)


def _parse_utc(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


# --------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------


def write_demo_landing(
    landing: Path, *, end: datetime, hours: int = 48, seed: int = 7, labels: Path | None = None
) -> DemoManifest:
    """Write demo landing files for ``ws_demo`` covering the ``hours`` hours before ``end``, and with ``labels``
    a labelled sample for ``contact_reason`` there (:mod:`metricstore.demo_labels`).

    ``end`` is the exclusive end of the window: converted to naive UTC if aware and floored to the hour.
    Files are (over)written under ``landing/<source>/``; other files in ``landing`` are left alone. The
    manifest ``landing/_demo.json`` is written last. The output depends only on ``(end, hours, seed)``.
    """
    if hours < 1:
        raise ValueError(f"hours must be at least 1, got {hours}")
    window_end = _normalize_end(end)
    window_start = window_end - timedelta(hours=hours)
    rng = random.Random(f"metricstore-demo:{seed}:{window_start.isoformat()}:{hours}")
    gen = _Generator(rng, window_start, window_end)

    shape_mean = sum(_HOUR_SHAPE) / len(_HOUR_SHAPE)
    events: list[_Event] = []
    intents: list[tuple[str, str]] = []
    conversations = 0
    malformed: list[tuple[datetime, str, str]] = []
    middle_hour = window_start + timedelta(hours=hours // 2)
    for index in range(hours):
        hour_start = window_start + timedelta(hours=index)
        mean = _CONVERSATIONS_PER_HOUR * _HOUR_SHAPE[hour_start.hour] / shape_mean
        count = max(1, round(rng.gauss(mean, math.sqrt(mean))))
        for offset in sorted(rng.randrange(3600) for _ in range(count)):
            conv, conv_events = gen.conversation(hour_start + timedelta(seconds=offset))
            events.extend(conv_events)
            intents.append((conv.conv_id, conv.intent))
            conversations += 1
        if hour_start == middle_hour:
            malformed = gen.malformed_lines(hour_start)

    # Group serialized lines by file: (instant, event_id, line).
    text_files: dict[str, list[tuple[datetime, str, str]]] = defaultdict(list)
    parquet_files: dict[str, list[_Event]] = defaultdict(list)
    for event in events:
        if event.source == "emotion_events":
            parquet_files[f"emotion_events/{event.at:%Y-%m-%d}.parquet"].append(event)
            continue
        if event.source == "call_intelligence":
            suffix = ".jsonl.gz" if event.at.hour % 2 else ".jsonl"
            rel = f"call_intelligence/{event.at:%Y/%m/%d/%H}{suffix}"
        else:
            rel = f"{event.source}/{event.at:%Y-%m-%d}.jsonl"
        line = _dumps(_envelope(event))
        for _ in range(event.copies):
            text_files[rel].append((event.at, event.event_id, line))
    middle_suffix = ".jsonl.gz" if middle_hour.hour % 2 else ".jsonl"
    text_files[f"call_intelligence/{middle_hour:%Y/%m/%d/%H}{middle_suffix}"].extend(malformed)

    landing = Path(landing)
    written = 0
    for rel, lines in sorted(text_files.items()):
        lines.sort(key=lambda item: (item[0], item[1]))
        payload = "".join(line + "\n" for _, _, line in lines).encode("utf-8")
        if rel.endswith(".gz"):
            payload = gzip.compress(payload, compresslevel=6, mtime=0)
        path = landing / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(payload)
        written += len(lines)
    for rel, rows in sorted(parquet_files.items()):
        rows.sort(key=lambda e: (e.at, e.event_id))
        path = landing / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_parquet_bytes(rows))
        written += len(rows)

    manifest = DemoManifest(
        workspace_id=DEMO_WORKSPACE,
        start=window_start,
        end=window_end,
        conversations=conversations,
        events=written,
    )
    body = {
        "workspace_id": manifest.workspace_id,
        "start": _iso_z(manifest.start),
        "end": _iso_z(manifest.end),
        "hours": hours,
        "seed": seed,
        "conversations": manifest.conversations,
        "events": manifest.events,
        "generator": "metricstore.demo",
    }
    if labels is not None:
        write_contact_reason_labels(labels, intents)
    landing.mkdir(parents=True, exist_ok=True)
    (landing / MANIFEST_NAME).write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
    return manifest


def _parquet_bytes(rows: Sequence[_Event]) -> bytes:
    """One parquet file, one row per event, envelope columns, ``data`` as a JSON string."""
    schema = pa.schema(
        [
            ("event_id", pa.string()),
            ("source", pa.string()),
            ("event_type", pa.string()),
            ("workspace_id", pa.string()),
            ("occurred_at", pa.string()),
            ("session_id", pa.string()),
            ("service_id", pa.string()),
            ("channel", pa.string()),
            ("direction", pa.string()),
            ("is_simulation", pa.bool_()),
            ("data", pa.string()),
        ]
    )
    columns: dict[str, list[Any]] = {name: [] for name in _ENVELOPE_COLUMNS}
    for event in rows:
        envelope = _envelope(event)
        envelope["data"] = _dumps(event.data)
        for name in _ENVELOPE_COLUMNS:
            columns[name].append(envelope[name])
    table = pa.table(columns, schema=schema)
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


def read_demo_manifest(landing: Path) -> DemoManifest | None:
    """Read ``landing/_demo.json``; None if it does not exist."""
    path = Path(landing) / MANIFEST_NAME
    if not path.is_file():
        return None
    body = json.loads(path.read_text(encoding="utf-8"))
    return DemoManifest(
        workspace_id=str(body["workspace_id"]),
        start=_parse_utc(str(body["start"])),
        end=_parse_utc(str(body["end"])),
        conversations=int(body["conversations"]),
        events=int(body["events"]),
    )
