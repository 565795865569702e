"""Sending: every delivery that is due, signed per Standard Webhooks, through the SSRF guard, concurrently under a
bound, each attempt recorded as it completes.

A pass sends the pending deliveries whose time has come (first attempts and retries), at most ``concurrency`` at
once. It never sleeps on a retry: a failure records when the delivery is due again (:mod:`.retry`). A slow or
failing receiver costs a pass little: after ``breaker`` failures in a row an endpoint gets nothing more this pass,
and no send starts after ``max_seconds``; what was not tried stays due for the next run or ``deliver``.

Attempts are recorded after their answers, committed in batches (:mod:`.record`): a process killed between a send
and its record leaves the delivery pending, and it goes out again under the same ``webhook-id`` (receivers
deduplicate by it).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import drawbridge
import duckdb
import httpx
from standardwebhooks import Webhook

from metricstore import __version__
from metricstore.catalog_loader import MetricCatalog
from metricstore.settings_schema import WebhookSettings
from metricstore.webhooks.outbox import webhook_targets
from metricstore.webhooks.record import Answer, Due, Recorder, SendResult
from metricstore.webhooks.retry import RETRY_AFTER_STATUSES, parse_retry_after
from metricstore.windows import utc_now

# Any port: a receiver may listen where it likes; the guard is on addresses, not ports.
ALL_PORTS = frozenset(range(1, 65536))
USER_AGENT = f"metricstore-webhooks/{__version__}"


@dataclass(frozen=True)
class SendSettings:
    """How a pass sends."""

    concurrency: int = 16
    timeout_seconds: float = 15.0  # the whole attempt: connect, send, answer
    max_seconds: float = 120.0  # no send starts after this; the rest stay due
    breaker: int = 5  # failures in a row after which an endpoint gets nothing more this pass
    record_batch: int = 64  # attempts committed together (a kill re-sends at most these, under the same ids)


def policy(webhook: WebhookSettings, settings: SendSettings) -> drawbridge.Policy:
    """The SSRF guard for a workspace's endpoint (drawbridge): the host is resolved once, every address checked
    (loopback, private, link-local, multicast, reserved ranges refused unless the workspace allows private
    addresses) and the connection made to the checked address; redirects are never followed."""
    return drawbridge.Policy(
        allow_private=webhook.allow_private_addresses,
        allow_ports=ALL_PORTS,
        max_redirects=0,
        timeout=settings.timeout_seconds,
        user_agent=USER_AGENT,
        max_response_bytes=1024 * 1024,
    )


def deliver_due(
    conn: duckdb.DuckDBPyConnection,
    catalog: MetricCatalog,
    *,
    now: datetime | None = None,
    settings: SendSettings | None = None,
    delivery_ids: list[str] | None = None,
) -> SendResult:
    """Send every pending delivery due at ``now`` (naive UTC; default: the clock) of the workspaces whose webhook
    is enabled, or only ``delivery_ids`` among them; record every attempt in ``ops.webhook_deliveries``."""
    started = time.perf_counter()
    settings = settings or SendSettings()
    now = now or utc_now()
    result = SendResult()
    targets = webhook_targets(catalog)
    if not targets:
        return result
    disabled = _disabled_endpoints(conn, targets)
    active = sorted(ws for ws in targets if ws not in disabled)
    result.held = _count_pending(conn, sorted(disabled))
    due = [
        Due(*row)
        for row in conn.execute(
            "SELECT o.delivery_id, o.webhook_id, o.workspace_id, o.conversation_id, o.attempts, m.body "
            "FROM ops.webhook_outbox o JOIN ops.webhook_messages m USING (webhook_id) "
            "WHERE o.state = 'pending' AND o.next_attempt_at <= $now AND list_contains($workspaces, o.workspace_id) "
            "  AND ($ids IS NULL OR list_contains($ids, o.delivery_id)) "
            "ORDER BY o.next_attempt_at, o.created_at, o.seq",
            {"now": now, "workspaces": active, "ids": delivery_ids},
        ).fetchall()
    ]
    if due:
        asyncio.run(_send_all(conn, due, targets, settings, now, result))
    result.seconds = time.perf_counter() - started
    return result


async def _send_all(
    conn: duckdb.DuckDBPyConnection,
    due: list[Due],
    targets: dict[str, WebhookSettings],
    settings: SendSettings,
    now: datetime,
    result: SendResult,
) -> None:
    clock = time.monotonic()
    semaphore = asyncio.Semaphore(settings.concurrency)
    failures_in_a_row: Counter[str] = Counter()
    stopped: set[str] = set()  # endpoints disabled (410) or broken this pass
    clients = {ws: drawbridge.Client(policy(targets[ws], settings)) for ws in {d.workspace_id for d in due}}
    recorder = Recorder(conn, result, batch=settings.record_batch)

    async def one(item: Due) -> None:
        async with semaphore:
            webhook = targets[item.workspace_id]
            if item.workspace_id in stopped or time.monotonic() - clock > settings.max_seconds:
                result.deferred += 1
                return
            answer = await _attempt(clients[item.workspace_id], webhook, item, settings)
            at = now + timedelta(seconds=time.monotonic() - clock)
            outcome = recorder.settle(item, webhook.url, answer, at)
            if outcome == "delivered":
                failures_in_a_row[item.workspace_id] = 0
            else:
                failures_in_a_row[item.workspace_id] += 1
                if outcome == "gone" or failures_in_a_row[item.workspace_id] >= settings.breaker:
                    stopped.add(item.workspace_id)

    try:
        await asyncio.gather(*(one(item) for item in due))
        recorder.flush()
    finally:
        for client in clients.values():
            await client.aclose()


async def _attempt(client: drawbridge.Client, webhook: WebhookSettings, item: Due, settings: SendSettings) -> Answer:
    signed_at = datetime.now(UTC)  # receivers check the timestamp against their clock: always the real one
    headers = {
        "content-type": "application/json",
        "webhook-id": item.webhook_id,
        "webhook-timestamp": str(int(signed_at.timestamp())),
        "webhook-signature": Webhook(webhook.secret).sign(item.webhook_id, signed_at, item.body),
    }
    started = time.perf_counter()
    answer = Answer()
    try:
        response = await asyncio.wait_for(
            client.post(webhook.url, content=item.body.encode(), headers=headers), settings.timeout_seconds
        )
    except (drawbridge.BlockedAddressError, drawbridge.BlockedDomainError, drawbridge.UnsafePortError,
            drawbridge.UnsafeSchemeError) as exc:  # fmt: skip
        answer.refused, answer.error = True, f"refused by the SSRF guard: {exc}"
    except (TimeoutError, httpx.TimeoutException):
        answer.error = f"no answer within {settings.timeout_seconds:g} s"
    except (httpx.HTTPError, drawbridge.DrawbridgeError, OSError) as exc:
        answer.error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    else:
        answer.status_code = response.status_code
        if response.is_redirect:
            answer.error = f"HTTP {response.status_code}: redirect to {response.headers.get('location')} not followed"
        elif not 200 <= response.status_code < 300:
            answer.error = f"HTTP {response.status_code}"
        if response.status_code in RETRY_AFTER_STATUSES:
            answer.retry_after = parse_retry_after(
                response.headers.get("retry-after"), datetime.now(UTC).replace(tzinfo=None)
            )
    answer.latency_ms = (time.perf_counter() - started) * 1000
    return answer


def enable_endpoint(
    conn: duckdb.DuckDBPyConnection, workspace_id: str, url: str, *, now: datetime | None = None
) -> bool:
    """Enable a disabled endpoint again (its held deliveries go out at the next pass); False when it was not
    disabled."""
    row = conn.execute(
        "UPDATE ops.webhook_endpoints SET state = 'active', reason = NULL, failing_since = NULL, updated_at = ? "
        "WHERE workspace_id = ? AND url = ? AND state = 'disabled'",
        [now or utc_now(), workspace_id, url],
    ).fetchone()
    return bool(row and row[0])


def _disabled_endpoints(conn: duckdb.DuckDBPyConnection, targets: dict[str, WebhookSettings]) -> set[str]:
    rows = conn.execute(
        "SELECT workspace_id, url FROM ops.webhook_endpoints WHERE state = 'disabled' "
        "AND list_contains($workspaces, workspace_id)",
        {"workspaces": sorted(targets)},
    ).fetchall()
    return {ws for ws, url in rows if targets[ws].url == url}


def _count_pending(conn: duckdb.DuckDBPyConnection, workspaces: list[str]) -> int:
    if not workspaces:
        return 0
    row = conn.execute(
        "SELECT count(*) FROM ops.webhook_outbox WHERE state = 'pending' AND list_contains($ws, workspace_id)",
        {"ws": workspaces},
    ).fetchone()
    return int(row[0]) if row else 0
