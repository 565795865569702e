"""`metricstore webhooks deliver | replay | status | enable` on a warehouse: what they send, record and print."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from metricstore.cli import main
from metricstore.config import Settings
from metricstore.published import open_published
from metricstore.webhooks.outbox import queue_window
from tests.webhook_helpers import H10, WS, HookWorld, calls
from tests.webhook_receiver import WebhookReceiver, ok, status

pytest_plugins = ["tests.webhook_fixtures"]


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, ["webhooks", *args])


@pytest.fixture
def queued(world: HookWorld, receiver: WebhookReceiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> HookWorld:
    """Three conversations queued for the receiver; the warehouse closed, the CLI pointed at it."""
    world.configure(url=receiver.url, allow_private_addresses=True)
    world.land("call_intelligence/a.jsonl", calls(3))
    assert queue_window(world.conn, world.catalog, H10).queued == 3
    world.conn.close()
    monkeypatch.setenv("METRICSTORE_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("METRICSTORE_PUBLISHED", str(tmp_path / "published.duckdb"))
    monkeypatch.setenv("METRICSTORE_METRIC_DEFS", str(world.defs))
    return world


def status_json() -> dict[str, Any]:
    result = invoke("status", "--workspace", WS, "--json")
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)
    return dict(row)


def attempts() -> list[tuple[Any, ...]]:
    with open_published(Settings.from_env()) as conn:
        return conn.execute(
            "SELECT conversation_id, attempt, status_code, outcome, webhook_id FROM ops.webhook_deliveries "
            "ORDER BY attempted_at, conversation_id"
        ).fetchall()


def test_deliver_sends_what_is_due_and_status_shows_the_retries(queued: HookWorld, receiver: WebhookReceiver) -> None:
    receiver.set_behaviour(status(500))
    result = invoke("deliver")
    assert result.exit_code == 0, result.output
    assert "attempted 3: delivered 0, failed (retried later) 3" in result.stdout
    assert "3 × HTTP 500" in result.stdout
    row = status_json()
    assert (row["endpoint"], row["due_now"], row["retrying"], row["dead"]) == ("active", 0, 3, 0)
    assert row["last_error"] == "HTTP 500" and row["next_attempt_at"]
    table = invoke("status").stdout
    assert WS in table and "HTTP 500" in table and "retrying" in table
    receiver.set_behaviour(ok())
    again = invoke("deliver")  # the retries are not due yet: nothing is sent
    assert "attempted 0" in again.stdout and len(receiver.received) == 3


def test_replay_by_conversation_and_by_time_resends_under_the_same_id(
    queued: HookWorld, receiver: WebhookReceiver
) -> None:
    assert "delivered 3" in invoke("deliver").stdout
    first = {c: w for c, _, _, _, w in attempts()}
    one = invoke("replay", "--workspace", WS, "--conversation", "call-1")
    assert one.exit_code == 0, one.output
    assert "replayed 1 conversation(s)" in one.stdout and "delivered 1" in one.stdout
    assert receiver.verified_ids()[-1] == first["call-1"]
    window = invoke("replay", "--workspace", WS, "--since", "2026-11-20 10:01", "--until", "2026-11-20 11:00")
    assert "replayed 2 conversation(s)" in window.stdout, window.output
    assert sorted(receiver.verified_ids()[-2:]) == sorted([first["call-1"], first["call-2"]])
    rows = attempts()
    assert len(rows) == 6 and sorted((c, a, o) for c, a, _, o, _ in rows[3:]) == [
        ("call-1", 1, "delivered"), ("call-1", 1, "delivered"), ("call-2", 1, "delivered")
    ]  # fmt: skip


def test_replay_refuses_what_it_cannot_do(queued: HookWorld) -> None:
    assert invoke("replay", "--workspace", WS).exit_code == 2  # neither --conversation nor a time
    assert invoke("replay", "--workspace", WS, "--conversation", "c", "--since", "2026-11-20").exit_code == 2
    nothing = invoke("replay", "--workspace", WS, "--conversation", "no-such-call")
    assert nothing.exit_code == 2 and "no conversation matched" in nothing.stderr
    other = invoke("replay", "--workspace", "ws_other", "--conversation", "call-1")
    assert other.exit_code == 2 and "has no enabled webhook" in other.stderr


def test_a_410_disables_the_endpoint_until_enable(queued: HookWorld, receiver: WebhookReceiver) -> None:
    receiver.set_behaviour(status(410))
    sent = invoke("deliver", "--concurrency", "1")
    assert "endpoint disabled: ws_hooks: the receiver answered 410 Gone" in sent.stdout
    assert len(receiver.received) == 1  # the first 410 stops the pass for that endpoint
    row = status_json()
    assert row["endpoint"] == "disabled" and "410" in row["reason"]
    assert "held for a disabled endpoint 3" in invoke("deliver").stdout
    receiver.set_behaviour(ok())
    assert "enabled" in invoke("enable", "--workspace", WS).stdout
    assert "was not disabled" in invoke("enable", "--workspace", WS).stdout
    assert "delivered 3" in invoke("deliver").stdout
    row = status_json()
    assert (row["endpoint"], row["due_now"], row["retrying"], row["delivered_24h"]) == ("active", 0, 0, 3)
