"""Recording attempts: each answer settled in memory at once (the delivery's next state, the endpoint's health),
committed in batches.

One transaction per attempt bounded a pass at about 50 deliveries a second whatever the concurrency (a DuckDB
commit costs ~19 ms here; `make bench`, webhooks), so attempts are committed set-based, ``batch`` at a time or
after ``FLUSH_SECONDS``, and at the end of the pass. A process killed before a commit loses the records of at most one
batch: those deliveries are still pending in the outbox and go out again under the same ``webhook-id``, which
receivers deduplicate by (CONTRACT §7) — the same as a kill between one send and its record.

Only the process holding the writer lock sends, so the endpoints' health read at the start of a pass stays true
while it runs.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import duckdb
import polars as pl

from metricstore.warehouse import register_frame, run_script, transaction
from metricstore.webhooks.retry import DISABLE_AFTER, next_attempt, outcome_of

FLUSH_SECONDS = 1.0
# The columns of a batch (sql/webhooks/record_attempts.sql reads them as the temp table webhook_attempts).
_ATTEMPTS: pl.Schema = pl.Schema(
    {
        "delivery_id": pl.String(),
        "webhook_id": pl.String(),
        "workspace_id": pl.String(),
        "conversation_id": pl.String(),
        "url": pl.String(),
        "attempt": pl.Int32(),
        "status_code": pl.Int32(),
        "latency_ms": pl.Float64(),
        "outcome": pl.String(),
        "error": pl.String(),
        "next_attempt_at": pl.Datetime("us"),
        "attempted_at": pl.Datetime("us"),
        "state": pl.String(),
    }
)


@dataclass
class SendResult:
    """What a pass did."""

    attempted: int = 0
    delivered: int = 0
    failed: int = 0  # will be retried
    dead: int = 0  # exhausted their retries
    refused: int = 0  # the SSRF guard refused the address
    deferred: int = 0  # due, not tried this pass (breaker, time limit): due at the next run or deliver
    held: int = 0  # pending for an endpoint that is disabled (410, or failing for days)
    disabled: list[str] = field(default_factory=list)  # endpoints this pass disabled: "ws: reason"
    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0


@dataclass(frozen=True)
class Due:
    """A delivery due now, with its message's body."""

    delivery_id: str
    webhook_id: str
    workspace_id: str
    conversation_id: str
    attempts: int
    body: str


@dataclass
class Answer:
    """What one attempt got back."""

    status_code: int | None = None
    error: str | None = None
    refused: bool = False
    retry_after: timedelta | None = None
    latency_ms: float = 0.0


@dataclass
class _Endpoint:
    state: str = "active"
    reason: str | None = None
    failing_since: datetime | None = None
    last_success_at: datetime | None = None
    updated_at: datetime | None = None


class Recorder:
    """Settles each attempt as it completes and commits them ``batch`` at a time (see the module's text)."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, result: SendResult, *, batch: int) -> None:
        self._conn = conn
        self._result = result
        self._batch = batch
        self._attempts: list[tuple[Any, ...]] = []
        self._endpoints: dict[tuple[str, str], _Endpoint] = {
            (ws, url): _Endpoint(state, reason, failing_since, last_success_at, updated_at)
            for ws, url, state, reason, failing_since, last_success_at, updated_at in conn.execute(
                "SELECT workspace_id, url, state, reason, failing_since, last_success_at, updated_at "
                "FROM ops.webhook_endpoints"
            ).fetchall()
        }
        self._touched: set[tuple[str, str]] = set()
        self._flushed_at = time.monotonic()

    def settle(self, item: Due, url: str, answer: Answer, at: datetime) -> str:
        """The attempt's outcome (delivered, failed, refused, gone); committed with the batch it joins."""
        result = self._result
        attempt = item.attempts + 1
        result.attempted += 1
        result.latencies_ms.append(answer.latency_ms)
        if answer.refused:
            outcome = "refused"
        elif answer.status_code is not None:
            outcome = outcome_of(answer.status_code)
        else:
            outcome = "failed"
        if answer.error:
            result.errors[answer.error.split(":")[0] if answer.refused else answer.error] += 1
        state, due_again = "pending", None
        if outcome == "delivered":
            state = "delivered"
            result.delivered += 1
        elif outcome == "gone":
            due_again = at  # held until the endpoint is enabled again, then sent at once
        else:
            due_again = next_attempt(attempt, at, retry_after=answer.retry_after)
            state = "pending" if due_again else "dead"
            result.refused += outcome == "refused"
            result.failed += state == "pending"
            result.dead += state == "dead"
        self._attempts.append(
            (item.delivery_id, item.webhook_id, item.workspace_id, item.conversation_id, url, attempt,
             answer.status_code, round(answer.latency_ms, 3), outcome, answer.error, due_again, at, state)
        )  # fmt: skip
        disabled = self._endpoint_health(item.workspace_id, url, outcome, at)
        if disabled:
            result.disabled.append(f"{item.workspace_id}: {disabled}")
        if len(self._attempts) >= self._batch or time.monotonic() - self._flushed_at >= FLUSH_SECONDS:
            self.flush()
        return outcome

    def flush(self) -> None:
        """Commit the attempts settled since the last flush, in one transaction."""
        self._flushed_at = time.monotonic()
        if not self._attempts:
            return
        endpoints = [(ws, url, self._endpoints[ws, url]) for ws, url in sorted(self._touched)]
        _commit(self._conn, pl.DataFrame(self._attempts, schema=_ATTEMPTS, orient="row"), endpoints)
        self._attempts, self._touched = [], set()

    def _endpoint_health(self, ws: str, url: str, outcome: str, at: datetime) -> str | None:
        """Update the endpoint's health after an attempt; the reason when this attempt disabled it."""
        endpoint = self._endpoints.setdefault((ws, url), _Endpoint())
        self._touched.add((ws, url))
        endpoint.updated_at = at
        if outcome == "delivered":
            endpoint.failing_since, endpoint.last_success_at = None, at
            return None
        endpoint.failing_since = endpoint.failing_since or at
        if endpoint.state == "disabled":
            return None
        if outcome == "gone":
            endpoint.reason = f"the receiver answered 410 Gone at {at:%Y-%m-%d %H:%M:%S} UTC"
        elif at - endpoint.failing_since >= DISABLE_AFTER:
            since = endpoint.failing_since
            endpoint.reason = f"every attempt failed since {since:%Y-%m-%d %H:%M:%S} UTC ({DISABLE_AFTER.days} days)"
        else:
            return None
        endpoint.state = "disabled"
        return endpoint.reason


def _commit(
    conn: duckdb.DuckDBPyConnection, attempts: pl.DataFrame, endpoints: list[tuple[str, str, _Endpoint]]
) -> None:
    with transaction(conn):
        register_frame(conn, "webhook_attempts", attempts)
        run_script(conn, "webhooks/record_attempts.sql")
        for ws, url, e in endpoints:
            conn.execute("DELETE FROM ops.webhook_endpoints WHERE workspace_id = ? AND url = ?", [ws, url])
            conn.execute(
                "INSERT INTO ops.webhook_endpoints (workspace_id, url, state, reason, failing_since, "
                "last_success_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [ws, url, e.state, e.reason, e.failing_since, e.last_success_at, e.updated_at],
            )
