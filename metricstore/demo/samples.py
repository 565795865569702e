"""The shipped MultiDoGO sample (``metricstore/demo_data/multidogo``, CDLA-Permissive-1.0): its conversations'
customer turns, read once."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources


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
