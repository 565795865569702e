"""The demo's generated records, an event and the conversation it belongs to, and how an event is spelled as a
landing line (its envelope, ``occurred_at`` in UTC or an offset, compact JSON)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from metricstore.demo.manifest import DEMO_WORKSPACE


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


def _iso_z(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _occurred(at: datetime, tz: str) -> str:
    """Spell a naive UTC instant as ISO-8601 with ``Z`` or the same instant in the offset ``tz``."""
    if tz == "Z":
        return _iso_z(at)
    sign = 1 if tz[0] == "+" else -1
    local = at + sign * timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6]))
    return local.strftime("%Y-%m-%dT%H:%M:%S") + tz


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
