"""The demo's manifest: what :func:`~metricstore.demo.landing.write_demo_landing` wrote (``<landing>/_demo.json``),
and reading it back."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

DEMO_WORKSPACE = "ws_demo"
MANIFEST_NAME: Final = "_demo.json"


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


def _parse_utc(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value
