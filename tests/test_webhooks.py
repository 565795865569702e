"""Post-call webhooks (metricstore.webhooks): one verified delivery per conversation once its metrics are in,
retries across passes under the same webhook-id, 410 and dead deliveries, replay, and a kill mid-delivery."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from metricstore.webhooks import record
from metricstore.webhooks.outbox import queue_replay, queue_window
from metricstore.webhooks.record import SendResult
from metricstore.webhooks.retry import MAX_ATTEMPTS
from metricstore.webhooks.sender import SendSettings, deliver_due, enable_endpoint
from metricstore.windows import utc_now
from tests.conftest import event
from tests.webhook_helpers import CONVERSATIONS, H10, WS, HookWorld, calls
from tests.webhook_receiver import WebhookReceiver, close, ok, slow, status

pytest_plugins = ["tests.webhook_fixtures"]  # its fixtures


def _pass(world: HookWorld, **kwargs: Any) -> SendResult:
    queue_window(world.conn, world.catalog, H10)
    return deliver_due(world.conn, world.catalog, **kwargs)


def _later(minutes: float) -> Any:
    return utc_now() + timedelta(minutes=minutes)


def test_every_conversation_is_delivered_once_signed_with_every_metric_and_its_schema(
    world: HookWorld, receiver: WebhookReceiver
) -> None:
    world.configure(url=receiver.url, allow_private_addresses=True)
    world.land("call_intelligence/a.jsonl", calls())
    sent = _pass(world)
    assert (sent.attempted, sent.delivered) == (CONVERSATIONS, CONVERSATIONS)
    assert all(r.verified for r in receiver.received), [r.error for r in receiver.received]
    bodies = {r.json["callData"]["id"]: r.json for r in receiver.received}
    assert sorted(bodies) == [f"call-{i}" for i in range(CONVERSATIONS)]
    body = bodies["call-2"]
    assert body["success"] is True
    assert body["callData"]["customMetrics"]["docs_quality"] == {
        "value": 72.0,
        "schema": {"type": "number", "name": "Voice Quality Score", "description": "", "isRequired": True},
    }
    assert body["callData"]["customMetrics"]["topic"]["value"] in {"billing", "delivery", "other"}
    assert body["metricSchema"]["topic"] == {
        "type": "string", "name": "Topic", "description": "What the call was about.", "isRequired": False
    }  # fmt: skip
    assert {"summary", "sentiment", "callbackRequired"} <= set(body["metricSchema"])  # the default metrics
    assert len(set(receiver.verified_ids())) == CONVERSATIONS
    # the same hour again, and a pass with nothing due: nothing more is sent
    again = _pass(world)
    assert (again.attempted, len(receiver.received)) == (0, CONVERSATIONS)
    attempts = world.rows("SELECT count(*), count(DISTINCT webhook_id), min(attempt), max(attempt) "
                          "FROM ops.webhook_deliveries WHERE outcome = 'delivered'")  # fmt: skip
    assert attempts == [(CONVERSATIONS, CONVERSATIONS, 1, 1)]


def test_a_conversation_waits_until_its_ai_metrics_are_in(world: HookWorld, receiver: WebhookReceiver) -> None:
    from metricstore.extract import extract_window
    from metricstore.ingest import ingest_window
    from tests.conftest import write_landing

    world.configure(url=receiver.url, allow_private_addresses=True)
    write_landing(world.landing, "call_intelligence/a.jsonl", calls(3))
    ingest_window(world.conn, world.landing, H10)
    extract_window(world.conn, world.catalog, H10)  # static values only: the AI step has not run
    queued = queue_window(world.conn, world.catalog, H10)
    assert (queued.queued, queued.waiting) == (0, 3)
    from metricstore.evaluation.run import evaluate_window

    evaluate_window(world.conn, world.catalog, H10)
    queued = queue_window(world.conn, world.catalog, H10)
    assert (queued.queued, queued.waiting) == (3, 0)


def test_a_failed_delivery_is_retried_by_a_later_pass_under_the_same_webhook_id(
    world: HookWorld, receiver: WebhookReceiver
) -> None:
    world.configure(url=receiver.url, allow_private_addresses=True)
    world.land("call_intelligence/a.jsonl", calls(2))
    receiver.set_behaviour(status(500))
    first = _pass(world)
    assert (first.attempted, first.failed, first.delivered) == (2, 2, 0)
    failed_ids = receiver.verified_ids()
    # not due yet: the retry waits its turn (5 s ± 20 %), it is not slept on
    assert deliver_due(world.conn, world.catalog).attempted == 0
    receiver.set_behaviour(ok())
    second = deliver_due(world.conn, world.catalog, now=_later(1))
    assert (second.attempted, second.delivered) == (2, 2)
    assert sorted(receiver.verified_ids()[2:]) == sorted(failed_ids)  # the same ids again
    rows = world.rows("SELECT conversation_id, attempt, outcome, status_code, next_attempt_at IS NOT NULL "
                      "FROM ops.webhook_deliveries ORDER BY conversation_id, attempt")  # fmt: skip
    assert rows == [
        ("call-0", 1, "failed", 500, True), ("call-0", 2, "delivered", 200, False),
        ("call-1", 1, "failed", 500, True), ("call-1", 2, "delivered", 200, False),
    ]  # fmt: skip


def test_retry_after_is_honoured(world: HookWorld, receiver: WebhookReceiver) -> None:
    world.configure(url=receiver.url, allow_private_addresses=True)
    world.land("call_intelligence/a.jsonl", calls(1))
    receiver.set_behaviour(status(429, {"Retry-After": "600"}), ok())
    _pass(world)
    ((wait,),) = world.rows("SELECT next_attempt_at - attempted_at FROM ops.webhook_deliveries")
    assert wait >= timedelta(seconds=600)
    assert deliver_due(world.conn, world.catalog, now=_later(5)).attempted == 0  # the 5 s step would be due
    assert deliver_due(world.conn, world.catalog, now=_later(11)).delivered == 1


@pytest.mark.parametrize("failure", [status(503), close()], ids=["503", "connection closed"])
def test_failures_are_recorded_with_their_reason(world: HookWorld, receiver: WebhookReceiver, failure: Any) -> None:
    world.configure(url=receiver.url, allow_private_addresses=True)
    world.land("call_intelligence/a.jsonl", calls(1))
    receiver.set_behaviour(failure)
    assert _pass(world).failed == 1
    ((code, error, latency),) = world.rows("SELECT status_code, error, latency_ms FROM ops.webhook_deliveries")
    assert (code, error) == (503, "HTTP 503") if code else error and latency >= 0


def test_a_410_disables_the_endpoint_until_it_is_enabled_again(world: HookWorld, receiver: WebhookReceiver) -> None:
    world.configure(url=receiver.url, allow_private_addresses=True)
    world.land("call_intelligence/a.jsonl", calls(3))
    receiver.set_behaviour(status(410), ok())
    first = _pass(world, settings=SendSettings(concurrency=1))
    assert first.attempted == 1 and first.deferred == 2  # nothing more after the 410
    assert first.disabled and "410" in first.disabled[0]
    held = deliver_due(world.conn, world.catalog, now=_later(60))
    assert (held.attempted, held.held) == (0, 3)
    assert enable_endpoint(world.conn, WS, receiver.url)
    resumed = deliver_due(world.conn, world.catalog)
    assert resumed.delivered == 3


def test_a_failing_endpoint_stops_getting_deliveries_for_the_pass(world: HookWorld, receiver: WebhookReceiver) -> None:
    world.configure(url=receiver.url, allow_private_addresses=True)
    world.land("call_intelligence/a.jsonl", calls(6))
    receiver.set_behaviour(slow(5))
    settings = SendSettings(concurrency=2, timeout_seconds=0.3, breaker=2)
    sent = _pass(world, settings=settings)
    assert sent.failed == 2 and sent.deferred == 4  # the rest stay due for the next pass
    assert sent.seconds < 3  # a slow receiver does not hold the run for 6 × its delay
    assert world.rows("SELECT DISTINCT error FROM ops.webhook_deliveries") == [("no answer within 0.3 s",)]


def test_sends_run_concurrently_under_the_bound(world: HookWorld, receiver: WebhookReceiver) -> None:
    world.configure(url=receiver.url, allow_private_addresses=True)
    world.land("call_intelligence/a.jsonl", calls(6))
    receiver.set_behaviour(slow(0.5))
    sent = _pass(world, settings=SendSettings(concurrency=6))
    assert sent.delivered == 6
    arrivals = sorted(r.at for r in receiver.received)
    assert arrivals[-1] - arrivals[0] < timedelta(seconds=0.45)  # all six in flight before the first answered


def test_exhausted_retries_are_dead_and_a_replay_sends_them_again(world: HookWorld, receiver: WebhookReceiver) -> None:
    world.configure(url=receiver.url, allow_private_addresses=True)
    world.land("call_intelligence/a.jsonl", calls(1))
    receiver.set_behaviour(status(500))
    queue_window(world.conn, world.catalog, H10)
    for _ in range(MAX_ATTEMPTS):  # each pass when the retry is due (the clock moves on as the schedule says)
        ((due,),) = world.rows("SELECT coalesce(next_attempt_at, now()::TIMESTAMP) FROM ops.webhook_outbox")
        deliver_due(world.conn, world.catalog, now=due + timedelta(seconds=1))
    assert world.rows("SELECT state, attempts FROM ops.webhook_outbox") == [("dead", MAX_ATTEMPTS)]
    assert deliver_due(world.conn, world.catalog, now=_later(60 * 24 * 30)).attempted == 0
    dead_id = receiver.verified_ids()[-1]
    receiver.set_behaviour(ok())
    replayed = queue_replay(world.conn, world.catalog, WS, conversation_ids=["call-0"])
    sent = deliver_due(world.conn, world.catalog, delivery_ids=replayed.delivery_ids)
    assert sent.delivered == 1 and receiver.verified_ids()[-1] == dead_id  # the same message, the same id
    by_time = queue_replay(world.conn, world.catalog, WS, since=H10.start, until=H10.end)
    assert by_time.queued == 1


def test_a_changed_value_is_a_new_message_and_replaces_a_pending_one(
    world: HookWorld, receiver: WebhookReceiver
) -> None:
    world.configure(url=receiver.url, allow_private_addresses=True)
    world.land("call_intelligence/a.jsonl", calls(2))
    assert _pass(world).delivered == 2
    first_ids = dict(world.rows("SELECT conversation_id, webhook_id FROM ops.webhook_outbox"))
    # call-1 gets a later snapshot with another quality score; the receiver is down for it
    later = event("e9", "2026-11-20T10:50:00Z", workspace_id=WS, id="call-1", status="completed", quality_score=10)
    receiver.set_behaviour(status(500))
    world.land("call_intelligence/b.jsonl", [later])
    assert _pass(world).failed == 1
    # and changes again before the retry: the pending delivery is superseded by the newest message
    newest = {**later, "event_id": "e10", "occurred_at": "2026-11-20T10:55:00Z"}
    newest["data"] = {**later["data"], "quality_score": 11}
    world.land("call_intelligence/c.jsonl", [newest])
    queued = queue_window(world.conn, world.catalog, H10)
    assert (queued.queued, queued.superseded) == (1, 1)
    receiver.set_behaviour(ok())
    assert deliver_due(world.conn, world.catalog, now=_later(1)).delivered == 1
    states = world.rows(
        "SELECT conversation_id, state, webhook_id FROM ops.webhook_outbox ORDER BY conversation_id, seq"
    )
    assert [(c, s) for c, s, _ in states] == [
        ("call-0", "delivered"), ("call-1", "delivered"), ("call-1", "superseded"), ("call-1", "delivered")
    ]  # fmt: skip
    assert states[0][2] == first_ids["call-0"] and len({w for *_, w in states}) == 4
    last = receiver.received[-1].json["callData"]["customMetrics"]["docs_quality"]["value"]
    assert last == 11.0


def test_a_kill_between_send_and_record_resends_under_the_same_id(
    world: HookWorld, receiver: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.configure(url=receiver.url, allow_private_addresses=True)
    world.land("call_intelligence/a.jsonl", calls(3))
    queue_window(world.conn, world.catalog, H10)
    real_commit = record._commit

    def killed(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt("killed after the sends, before their records were committed")

    monkeypatch.setattr(record, "_commit", killed)
    with pytest.raises(KeyboardInterrupt):
        deliver_due(world.conn, world.catalog, settings=SendSettings(concurrency=1))
    sent_before_kill = receiver.verified_ids()
    assert sent_before_kill  # the receiver has them; the warehouse does not
    assert world.rows("SELECT count(*) FROM ops.webhook_deliveries") == [(0,)]
    assert world.rows("SELECT DISTINCT state FROM ops.webhook_outbox") == [("pending",)]
    monkeypatch.setattr(record, "_commit", real_commit)
    again = deliver_due(world.conn, world.catalog)
    assert again.delivered == 3
    ids = receiver.verified_ids()
    assert len(set(ids)) == 3 and all(ids.count(i) == 2 for i in sent_before_kill)  # duplicates receivers drop
    assert deliver_due(world.conn, world.catalog, now=_later(60)).attempted == 0


def test_attempts_are_committed_in_batches_and_each_is_a_row(world: HookWorld, receiver: WebhookReceiver) -> None:
    world.configure(url=receiver.url, allow_private_addresses=True)
    world.land("call_intelligence/a.jsonl", calls(7))
    queue_window(world.conn, world.catalog, H10)
    sent = deliver_due(world.conn, world.catalog, settings=SendSettings(concurrency=3, record_batch=2))
    assert (sent.attempted, sent.delivered) == (7, 7)
    rows = world.rows(
        "SELECT d.attempt, d.outcome, d.webhook_id = o.webhook_id, o.state, o.attempts "
        "FROM ops.webhook_deliveries d JOIN ops.webhook_outbox o USING (delivery_id)"
    )
    assert sorted(rows) == [(1, "delivered", True, "delivered", 1)] * 7
    assert world.rows("SELECT state, failing_since IS NULL FROM ops.webhook_endpoints") == [("active", True)]


def test_required_metrics_without_a_value_are_delivered_and_counted(
    world: HookWorld, receiver: WebhookReceiver
) -> None:
    world.configure(url=receiver.url, allow_private_addresses=True)
    no_score = calls(2)
    for e in no_score:
        del e["data"]["quality_score"]
    world.land("call_intelligence/a.jsonl", no_score)
    queued = queue_window(world.conn, world.catalog, H10)
    assert queued.missing_required == {"docs_quality": 2}
    deliver_due(world.conn, world.catalog)
    body = receiver.received[0].json
    assert body["callData"]["customMetrics"]["docs_quality"]["value"] is None
    assert body["metricSchema"]["docs_quality"]["isRequired"] is True


def test_a_workspace_without_an_enabled_webhook_queues_nothing(world: HookWorld, receiver: WebhookReceiver) -> None:
    world.land("call_intelligence/a.jsonl", calls(2))
    assert _pass(world).attempted == 0
    world.configure(url=receiver.url, allow_private_addresses=True, enabled=False)
    assert queue_window(world.conn, world.catalog, H10).queued == 0
    world.configure(url=receiver.url, allow_private_addresses=True)  # on again: the window's conversations go
    assert _pass(world).delivered == 2


def test_an_endpoint_failing_for_days_is_disabled_and_status_says_why(
    world: HookWorld, receiver: WebhookReceiver
) -> None:
    from metricstore.webhooks.status import webhook_status

    world.configure(url=receiver.url, allow_private_addresses=True)
    world.land("call_intelligence/a.jsonl", calls(1))
    receiver.set_behaviour(status(500))
    _pass(world)
    replayed = queue_replay(world.conn, world.catalog, WS, conversation_ids=["call-0"])
    sent = deliver_due(world.conn, world.catalog, now=_later(60 * 24 * 5 + 1), delivery_ids=replayed.delivery_ids)
    assert sent.disabled and "every attempt failed since" in sent.disabled[0]
    (row,) = webhook_status(world.conn, world.catalog, now=_later(60 * 24 * 5 + 2))
    pending = row.due_now + row.retrying
    assert (row.workspace_id, row.endpoint, pending, row.last_error) == (WS, "disabled", 1, "HTTP 500")
    assert row.reason and "5 days" in row.reason
