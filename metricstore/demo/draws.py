"""The seeded draws every part of the generator shares: weighted choices, unique identifiers, how an event's
instant is spelled, and stamping an event of a conversation."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final, TypeVar

from metricstore.demo.events import _Conversation, _Event

_T = TypeVar("_T")

_OFFSETS: Final = ("+02:00", "-05:00")


def _weighted(rng: random.Random, options: Sequence[tuple[_T, float]]) -> _T:
    values = [o for o, _ in options]
    weights = [w for _, w in options]
    return rng.choices(values, weights=weights, k=1)[0]


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


class _Draws:
    """The seeded RNG, the window and the identifiers drawn so far; what the generator and its side events draw
    with, in a fixed order."""

    def __init__(self, rng: random.Random, start: datetime, end: datetime) -> None:
        self.rng = rng
        self.start = start
        self.end = end
        self.seen_ids: set[str] = set()

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

    def tz(self) -> str:
        """About 5% of events spell occurred_at with an offset instead of Z."""
        return self.rng.choice(_OFFSETS) if self.rng.random() < 0.05 else "Z"

    def event(
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

    def during(self, conv: _Conversation) -> datetime | None:
        """A whole-second instant during the conversation and inside the window, or None if none fits."""
        low = max(conv.start, self.start)
        if low > conv.end:
            return None
        return low + timedelta(seconds=self.rng.randint(0, int((conv.end - low).total_seconds())))

    def count(self) -> int:
        return _weighted(self.rng, ((0, 0.25), (1, 0.35), (2, 0.27), (3, 0.13)))
