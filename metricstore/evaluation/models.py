"""Model tiers: which Claude model answers each tier, and what a million tokens cost. One table.

Override it with a YAML file named by ``METRICSTORE_MODELS`` holding the same mapping, e.g.::

    fast: {model: claude-haiku-4-5, input: 1.0, output: 5.0}

(prices in US dollars per million tokens; cache writes and reads default to 1.25× and 0.1× input).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

CLAUDE_TIERS = ("fast", "balanced", "max")
BATCH_DISCOUNT = 0.5  # the Message Batches API bills half of the real-time price


@dataclass(frozen=True)
class ModelPrice:
    """A tier's model and its prices in USD per million tokens."""

    model: str
    input: float
    output: float
    cache_write: float
    cache_read: float

    def cost(
        self,
        input_tokens: int,
        output_tokens: int,
        cache_creation_input_tokens: int = 0,
        cache_read_input_tokens: int = 0,
        *,
        batch: bool = False,
    ) -> float:
        dollars = (
            input_tokens * self.input
            + output_tokens * self.output
            + cache_creation_input_tokens * self.cache_write
            + cache_read_input_tokens * self.cache_read
        ) / 1_000_000
        return dollars * (BATCH_DISCOUNT if batch else 1.0)


def _price(model: str, input_price: float, output_price: float) -> ModelPrice:
    return ModelPrice(model, input_price, output_price, input_price * 1.25, input_price * 0.1)


DEFAULT_TIERS: dict[str, ModelPrice] = {
    "fast": _price("claude-haiku-4-5", 1.0, 5.0),
    "balanced": _price("claude-sonnet-4-6", 3.0, 15.0),
    "max": _price("claude-opus-4-6", 5.0, 25.0),
}


def model_tiers() -> dict[str, ModelPrice]:
    """The tier table, with the overrides of ``$METRICSTORE_MODELS`` applied."""
    tiers = dict(DEFAULT_TIERS)
    path = os.environ.get("METRICSTORE_MODELS")
    if not path:
        return tiers
    overrides = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    for tier, fields in overrides.items():
        if tier not in CLAUDE_TIERS or not isinstance(fields, dict):
            raise ValueError(f"{path}: {tier}: tiers are {', '.join(CLAUDE_TIERS)}, each a mapping")
        base = tiers[tier]
        updated = replace(base, **{k: v for k, v in fields.items() if k in ("model", "input", "output")})
        if "input" in fields:  # cache prices follow the input price unless given
            updated = replace(updated, cache_write=updated.input * 1.25, cache_read=updated.input * 0.1)
        tiers[tier] = replace(updated, **{k: v for k, v in fields.items() if k in ("cache_write", "cache_read")})
    return tiers
