"""The outbox: which conversations get a post-call delivery, queued in the warehouse before anything is sent.

A delivery carries a *message*: one conversation's post-call record, the bytes signed and sent. Its
``webhook_id`` is derived from the workspace, the conversation, the body's hash and how many messages the
conversation had before, so a rerun of an hour queues nothing new (same content, same newest message), a change
of any value queues a new message under a new id, and a value that changes back gets a new id too (receivers that
deduplicate by id would otherwise drop it). Queueing commits before sending: a run killed mid-delivery leaves its
deliveries pending, and the next run or ``metricstore webhooks deliver`` sends them under the same id.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import duckdb
import polars as pl

from metricstore.catalog_loader import MetricCatalog
from metricstore.evaluation.pending import AiSettings, ai_specs
from metricstore.post_call import PostCallRecord, post_call_records, record_metrics
from metricstore.settings_schema import WebhookSettings
from metricstore.warehouse import register_frame, render_sql, sql_text, transaction
from metricstore.windows import HOUR, TimeWindow, utc_now

# Records are built and queued this many conversations at a time (two queries per chunk).
CHUNK = 500
CLAUDE_TIERS = ("fast", "balanced", "max")


@dataclass
class QueueResult:
    """What queueing did, for asset metadata and the CLI."""

    queued: int = 0  # new deliveries (new messages, or replays)
    unchanged: int = 0  # rebuilt after a change upstream, same content as the newest delivery: nothing queued
    waiting: int = 0  # conversations whose AI metrics are still to come (a later run of the window delivers them)
    superseded: int = 0  # pending deliveries replaced by a newer message of the same conversation
    missing_required: Counter[str] = field(default_factory=Counter)  # metric → deliveries without its value
    delivery_ids: list[str] = field(default_factory=list)

    def add(self, other: QueueResult) -> None:
        self.queued += other.queued
        self.unchanged += other.unchanged
        self.waiting += other.waiting
        self.superseded += other.superseded
        self.missing_required.update(other.missing_required)
        self.delivery_ids += other.delivery_ids


def webhook_targets(catalog: MetricCatalog) -> dict[str, WebhookSettings]:
    """The workspaces whose post-call webhook is configured and enabled, with their settings."""
    targets = {}
    for ws in catalog.workspaces:
        webhook = catalog.settings_for(ws).webhook
        if webhook is not None and webhook.enabled:
            targets[ws] = webhook
    return targets


def runnable_tiers() -> list[str]:
    """The model tiers a run evaluates now: the free tier always, Claude's with an API key (as the AI step)."""
    return ["free", *(CLAUDE_TIERS if os.environ.get("ANTHROPIC_API_KEY") else ())]


def message_id(workspace_id: str, conversation_id: str, content_hash: str, generation: int) -> str:
    """The ``webhook-id`` of a message: stable for its content and place in the conversation's history."""
    digest = hashlib.sha256(f"{workspace_id}\x1f{conversation_id}\x1f{content_hash}\x1f{generation}".encode())
    return f"msg_{digest.hexdigest()[:32]}"


def queue_window(
    conn: duckdb.DuckDBPyConnection,
    catalog: MetricCatalog,
    window: TimeWindow,
    *,
    now: datetime | None = None,
    lookback: timedelta = AiSettings.lookback,
    arrival: bool = False,
) -> QueueResult:
    """Queue a delivery for every conversation of each hour's 24-hour window (the AI step's) whose post-call
    record is complete and differs from the one last queued for it. Idempotent: a rerun queues nothing. A run
    started by arriving landing files (``arrival``) queues for the workspaces that evaluate AI on arrival only:
    the others' webhooks leave after the hourly run."""
    result = QueueResult()
    targets = {
        ws: webhook
        for ws, webhook in webhook_targets(catalog).items()
        if not arrival or catalog.settings_for(ws).ai_cadence == "on_arrival"
    }
    if not targets:
        return result
    now = now or utc_now()
    workspaces = sorted(targets)
    register_frame(conn, "webhook_metrics", _record_metrics(conn, catalog, workspaces))
    register_frame(conn, "ai_specs", ai_specs(catalog, workspaces))
    for hour in window.hours():
        end = hour + HOUR
        params = {
            "workspaces": workspaces,
            "lookback_start": end - lookback,
            "window_end": end,
            "last_run_from": end - lookback + HOUR,
            "runnable_tiers": runnable_tiers(),
        }
        rows = conn.execute(render_sql("webhooks/changed_conversations.sql"), params).fetchall()
        result.waiting += sum(1 for *_, ready in rows if not ready)
        by_workspace: dict[str, list[tuple[str, datetime, int | None]]] = {}
        for ws, conversation_id, occurred_at, fingerprint, ready in rows:
            if ready:
                by_workspace.setdefault(ws, []).append((conversation_id, occurred_at, fingerprint))
        for ws, conversations in by_workspace.items():
            for i in range(0, len(conversations), CHUNK):
                result.add(_queue(conn, catalog, ws, conversations[i : i + CHUNK], reason="run", now=now))
    return result


def queue_replay(
    conn: duckdb.DuckDBPyConnection,
    catalog: MetricCatalog,
    workspace_id: str,
    *,
    conversation_ids: list[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    now: datetime | None = None,
) -> QueueResult:
    """Queue the current post-call record of the given conversations (or of those whose latest snapshot is in
    [since, until)) again. Unchanged content goes out under its message's ``webhook-id`` (a resend of the same
    message, as Standard Webhooks means it); changed content as a new message."""
    now = now or utc_now()
    params = {"workspace_id": workspace_id, "ids": conversation_ids, "since": since, "until": until}
    rows = conn.execute(sql_text("webhooks/replay_conversations.sql"), params).fetchall()
    result = QueueResult()
    conversations: list[tuple[str, datetime, int | None]] = [(cid, at, None) for cid, at in rows]
    for i in range(0, len(conversations), CHUNK):
        result.add(_queue(conn, catalog, workspace_id, conversations[i : i + CHUNK], reason="replay", now=now))
    return result


def _record_metrics(conn: duckdb.DuckDBPyConnection, catalog: MetricCatalog, workspaces: list[str]) -> pl.DataFrame:
    rows = [
        {"workspace_id": ws, "metric_key": d.definition.key, "definition_version": d.definition.definition_version}
        for ws in workspaces
        for d in record_metrics(conn, catalog, ws)
    ]
    return pl.DataFrame(
        rows, schema={"workspace_id": pl.String, "metric_key": pl.String, "definition_version": pl.String}
    )


def _queue(
    conn: duckdb.DuckDBPyConnection,
    catalog: MetricCatalog,
    workspace_id: str,
    conversations: list[tuple[str, datetime, int | None]],
    *,
    reason: str,
    now: datetime,
) -> QueueResult:
    """Build the records of ``conversations`` and queue those that need a delivery, in one transaction."""
    result = QueueResult()
    ids = [cid for cid, _, _ in conversations]
    records = post_call_records(conn, catalog, workspace_id, ids)
    newest = {
        row[0]: row[1:]
        for row in conn.execute(
            "SELECT o.conversation_id, o.delivery_id, o.webhook_id, o.seq, o.fingerprint, m.content_hash, "
            "       (SELECT count(*) FROM ops.webhook_messages g "
            "        WHERE g.workspace_id = o.workspace_id AND g.conversation_id = o.conversation_id) "
            "FROM ops.webhook_outbox o JOIN ops.webhook_messages m USING (webhook_id) "
            "WHERE o.workspace_id = $ws AND list_contains($ids, o.conversation_id) "
            "QUALIFY row_number() OVER (PARTITION BY o.conversation_id ORDER BY o.seq DESC) = 1",
            {"ws": workspace_id, "ids": ids},
        ).fetchall()
    }
    messages, deliveries, refreshed = [], [], []
    for conversation_id, occurred_at, fingerprint in conversations:
        record = records.get(conversation_id)
        if record is None:  # the conversation is gone from the warehouse since it was selected
            continue
        body = record.model_dump_json(by_alias=True)
        content_hash = hashlib.sha256(body.encode()).hexdigest()
        last = newest.get(conversation_id)
        if last is not None and last[4] == content_hash and reason == "run":
            refreshed.append({"delivery_id": last[0], "fingerprint": fingerprint})
            result.unchanged += 1
            continue
        if last is not None and last[4] == content_hash:
            webhook_id, fingerprint = last[1], last[3]  # a replay of the same content: the same message
        else:
            webhook_id = message_id(workspace_id, conversation_id, content_hash, last[5] if last else 0)
            messages.append(
                {
                    "webhook_id": webhook_id,
                    "workspace_id": workspace_id,
                    "conversation_id": conversation_id,
                    "content_hash": content_hash,
                    "body": body,
                    "created_at": now,
                }
            )
        missing = missing_required(record)
        result.missing_required.update(missing)
        delivery_id = f"dlv_{uuid.uuid4().hex}"
        deliveries.append(
            {
                "delivery_id": delivery_id,
                "webhook_id": webhook_id,
                "workspace_id": workspace_id,
                "conversation_id": conversation_id,
                "seq": (last[2] if last else 0) + 1,
                "conversation_at": occurred_at,
                "fingerprint": fingerprint,
                "missing_required": missing,
                "reason": reason,
                "state": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
                "updated_at": now,
            }
        )
        result.delivery_ids.append(delivery_id)
    result.queued = len(deliveries)
    with transaction(conn):
        if refreshed:
            register_frame(conn, "webhook_refreshed", pl.DataFrame(refreshed, schema=_REFRESHED))
            conn.execute(
                "UPDATE ops.webhook_outbox o SET fingerprint = r.fingerprint "
                "FROM webhook_refreshed r WHERE o.delivery_id = r.delivery_id"
            )
        if deliveries:
            register_frame(conn, "webhook_new_messages", pl.DataFrame(messages, schema=_MESSAGES))
            conn.execute("INSERT INTO ops.webhook_messages BY NAME SELECT * FROM webhook_new_messages")
            register_frame(conn, "webhook_new_deliveries", pl.DataFrame(deliveries, schema=_DELIVERIES))
            superseded = conn.execute(
                "UPDATE ops.webhook_outbox o SET state = 'superseded', next_attempt_at = NULL, updated_at = $now "
                "FROM (SELECT DISTINCT workspace_id, conversation_id FROM webhook_new_deliveries) n "
                "WHERE o.workspace_id = n.workspace_id AND o.conversation_id = n.conversation_id "
                "  AND o.state = 'pending'",
                {"now": now},
            ).fetchone()
            result.superseded = int(superseded[0]) if superseded else 0
            conn.execute("INSERT INTO ops.webhook_outbox BY NAME SELECT * FROM webhook_new_deliveries")
    return result


def missing_required(record: PostCallRecord) -> list[str]:
    """The required metrics the record carries without a value (delivered anyway, with their schema)."""
    data = json.loads(record.call_data.model_dump_json(by_alias=True))
    custom = data.get("customMetrics", {})
    return sorted(
        key
        for key, schema in record.metric_schema.items()
        if schema.is_required and (custom[key]["value"] if key in custom else data.get(key)) is None
    )


_REFRESHED = pl.Schema({"delivery_id": pl.String(), "fingerprint": pl.UInt64()})
_MESSAGES = pl.Schema(
    {
        "webhook_id": pl.String(),
        "workspace_id": pl.String(),
        "conversation_id": pl.String(),
        "content_hash": pl.String(),
        "body": pl.String(),
        "created_at": pl.Datetime("us"),
    }
)
_DELIVERIES = pl.Schema(
    {
        "delivery_id": pl.String(),
        "webhook_id": pl.String(),
        "workspace_id": pl.String(),
        "conversation_id": pl.String(),
        "seq": pl.Int32(),
        "conversation_at": pl.Datetime("us"),
        "fingerprint": pl.UInt64(),
        "missing_required": pl.List(pl.String()),
        "reason": pl.String(),
        "state": pl.String(),
        "attempts": pl.Int32(),
        "next_attempt_at": pl.Datetime("us"),
        "created_at": pl.Datetime("us"),
        "updated_at": pl.Datetime("us"),
    }
)
