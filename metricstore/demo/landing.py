"""Writing the demo's landing folder for one workspace, ``ws_demo`` (CONTRACT §3).

:func:`write_demo_landing` writes realistic landing files for every source under
``<landing>/<source>/...`` and a manifest ``<landing>/_demo.json``. Nothing reads the clock or the
network: the output is byte-identical for the same ``(end, hours, seed)``.

Layout written:

- ``call_intelligence/YYYY/MM/DD/HH.jsonl`` (even UTC hours) and ``HH.jsonl.gz`` (odd UTC hours),
  grouped by the UTC hour of ``occurred_at``;
- ``world_events/``, ``surface_events/``, ``connector_events/``, ``voice_judge_results/``:
  ``YYYY-MM-DD.jsonl`` per UTC day;
- ``emotion_events/YYYY-MM-DD.parquet`` per UTC day (``data`` as a JSON string column);
- ``_demo.json``: the :class:`~metricstore.demo.manifest.DemoManifest`, written last.

Lines in every file are sorted by the instant of ``occurred_at``, then ``event_id``. The customer
turns of the transcripts come from the 60 shipped MultiDoGO sample conversations
(``metricstore/demo_data/multidogo``, CDLA-Permissive-1.0); agent turns come from small per-domain
templates (:mod:`metricstore.demo.transcript`). The middle call-intelligence file carries exactly four deliberately
malformed lines so that quarantine has something to show.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import random
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
import pyarrow.parquet as pq

from metricstore.definitions import ENVELOPE_FIELDS
from metricstore.demo.events import _dumps, _envelope, _Event, _iso_z
from metricstore.demo.generator import _Generator
from metricstore.demo.labels import write_contact_reason_labels
from metricstore.demo.manifest import DEMO_WORKSPACE, MANIFEST_NAME, DemoManifest

_ENVELOPE_COLUMNS: Final = (*ENVELOPE_FIELDS, "data")
_CONVERSATIONS_PER_HOUR: Final = 70.0
# Relative traffic per UTC hour of day (normalized to a mean of 1 below): quiet nights, busy 08–20.
_HOUR_SHAPE: Final = (
    0.35, 0.30, 0.30, 0.30, 0.35, 0.45, 0.65, 0.85,
    1.20, 1.40, 1.50, 1.55, 1.50, 1.45, 1.50, 1.55, 1.50, 1.40, 1.30, 1.20,
    0.95, 0.75, 0.60, 0.45,
)  # fmt: skip


def _normalize_end(end: datetime) -> datetime:
    """Naive UTC, floored to the hour (an aware ``end`` is converted to UTC first)."""
    if end.tzinfo is not None:
        end = end.astimezone(UTC).replace(tzinfo=None)
    return end.replace(minute=0, second=0, microsecond=0)


def write_demo_landing(
    landing: Path, *, end: datetime, hours: int = 48, seed: int = 7, labels: Path | None = None
) -> DemoManifest:
    """Write demo landing files for ``ws_demo`` covering the ``hours`` hours before ``end``, and with ``labels``
    a labelled sample for ``contact_reason`` there (:mod:`metricstore.demo.labels`).

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
