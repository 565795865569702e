"""What is said in a demo call: the sample's customer turns between agent lines drawn from the domain's
templates, and what the snapshot records beyond the sample (the customer's mood, a promised follow-up date)
said in it too, a line each, so that AI metrics can be checked against the snapshot's own fields."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime
from typing import Final

from metricstore.demo.samples import _Sample, _Turn
from metricstore.demo.vocabulary import _DIALOGUE_ACTS, _PERSONAL_SLOTS, _Domain, _phrase, _slot_name

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


def _join(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _agent_turn(
    rng: random.Random,
    dom: _Domain,
    prev: _Turn,
    nxt: _Turn,
    mentioned: set[str],
    collected: list[str],
    asked: list[str],
) -> str:
    """The agent line between two customer turns: acknowledge ``prev``, ask for what ``nxt`` gives."""
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
    rng: random.Random,
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
            line = _agent_turn(rng, dom, turns[index - 1], turn, mentioned, collected, asked)
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
