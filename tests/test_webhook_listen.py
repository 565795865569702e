"""`metricstore webhooks secret` and `listen` (a local receiver that verifies Standard Webhooks signatures), and the
suite's programmable receiver (tests/webhook_receiver.py). Every connection stays on 127.0.0.1."""

from __future__ import annotations

import base64
import io
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import httpx
import pytest
import yaml
from click.testing import CliRunner
from standardwebhooks import Webhook

from metricstore.cli import main
from metricstore.cli.webhooks import _listen_secret
from metricstore.settings_schema import WebhookSettings
from metricstore.webhooks.listen import WebhookListener, summarize
from tests.api_helpers import WS, write_defs
from tests.webhook_receiver import WebhookReceiver, close, new_secret, ok, slow, status

SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()
RECORD = {
    "success": True,
    "callData": {
        "id": "call_1",
        "summary": "Double charge refunded.",
        "sentiment": None,
        "customMetrics": {
            "product_interest": {"value": "router", "schema": {"type": "string", "isRequired": True}},
            "budget": {"value": None, "schema": {"type": "number", "isRequired": True}},
        },
    },
    "metricSchema": {
        "summary": {"type": "string", "name": "Summary", "description": "", "isRequired": True},
        "sentiment": {"type": "string", "name": "Sentiment", "description": "", "isRequired": True},
        "intent": {"type": "string", "name": "Intent", "description": "", "isRequired": False},
        "product_interest": {"type": "string", "name": "Product interest", "description": "", "isRequired": True},
        "budget": {"type": "number", "name": "Budget", "description": "", "isRequired": True},
    },
}


def signed(body: bytes, webhook_id: str, secret: str = SECRET) -> dict[str, str]:
    """Standard Webhooks headers for ``body``, signed now."""
    now = datetime.now(UTC)
    return {
        "content-type": "application/json",
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, now, body.decode()),
    }


def http() -> httpx.Client:
    return httpx.Client(trust_env=False, timeout=5)  # no proxy from the environment: straight to 127.0.0.1


@pytest.fixture
def listening() -> Iterator[tuple[WebhookListener, io.StringIO]]:
    out = io.StringIO()
    with WebhookListener(SECRET, port=0, out=out, err=out) as listener:
        thread = threading.Thread(target=listener.serve_forever, daemon=True)
        thread.start()
        yield listener, out
        listener.shutdown()
        thread.join(timeout=5)


def test_secret_prints_one_valid_secret() -> None:
    result = CliRunner().invoke(main, ["webhooks", "secret"])
    assert result.exit_code == 0, result.output
    (line,) = result.output.splitlines()
    assert line.startswith("whsec_") and len(base64.b64decode(line.removeprefix("whsec_"), validate=True)) == 32
    assert WebhookSettings(url="https://hooks.example.com/", secret=line).secret == line


def test_summary_counts_metrics_and_required_ones_without_a_value() -> None:
    summary = summarize(RECORD)
    # sentiment (default, null) and budget (custom, null) are required and have no value
    assert (summary.conversation_id, summary.metrics, summary.required_missing) == ("call_1", 5, 2)
    assert summarize("not a record").conversation_id == "-"


def test_listen_verifies_reports_duplicates_and_rejects(listening: tuple[WebhookListener, io.StringIO]) -> None:
    listener, out = listening
    body = json.dumps(RECORD).encode()
    with http() as client:
        first = client.post(listener.url, content=body, headers=signed(body, "msg_1"))
        again = client.post(listener.url, content=body, headers=signed(body, "msg_1"))  # a resend
        forged = client.post(listener.url, content=body, headers=signed(body, "msg_2", new_secret()))
        unsigned = client.post(listener.url, content=body, headers={"webhook-id": "msg_3"})
        tampered = client.post(listener.url, content=body + b" ", headers=signed(body, "msg_4"))
        wrong_method = client.get(listener.url)
    assert (first.status_code, again.status_code) == (200, 200)
    assert (forged.status_code, unsigned.status_code, tampered.status_code) == (400, 400, 400)
    assert wrong_method.status_code == 405
    lines = out.getvalue().splitlines()
    assert len(lines) == 5
    assert lines[0].endswith(" msg_1 call=call_1 metrics=5 required_missing=2 verified")
    assert lines[1].endswith(" msg_1 call=call_1 metrics=5 required_missing=2 duplicate")
    assert lines[2].endswith(" msg_2 REJECTED: No matching signature found")
    assert lines[3].endswith(" msg_3 REJECTED: Missing required headers")
    assert lines[4].endswith(" msg_4 REJECTED: No matching signature found")
    assert datetime.fromisoformat(lines[0].split()[0]).tzinfo is not None
    assert listener.counts.summary() == "1 verified, 1 duplicate, 3 rejected"


def test_listen_json_prints_the_verified_bodies() -> None:
    out, err = io.StringIO(), io.StringIO()
    body = json.dumps(RECORD).encode()
    with WebhookListener(SECRET, as_json=True, out=out, err=err) as listener:
        thread = threading.Thread(target=listener.serve_forever, daemon=True)
        thread.start()
        with http() as client:
            for _ in range(2):
                assert client.post(listener.url, content=body, headers=signed(body, "msg_1")).status_code == 200
        listener.shutdown()
        thread.join(timeout=5)
    assert [json.loads(line) for line in out.getvalue().splitlines()] == [RECORD]
    assert err.getvalue().rstrip().endswith("duplicate")


def test_listen_secret_from_the_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    defs = write_defs(tmp_path / "defs")
    monkeypatch.setenv("METRICSTORE_METRIC_DEFS", str(defs))
    with pytest.raises(click.ClickException, match="has no webhook"):
        _listen_secret(None, WS)
    hook = {"url": "http://127.0.0.1:8787/", "secret": SECRET, "allow_private_addresses": True}
    (defs / "workspaces" / WS / "workspace.yaml").write_text(yaml.safe_dump({"webhook": hook}))
    assert _listen_secret(None, WS) == SECRET
    with pytest.raises(click.UsageError, match="either --secret or --workspace"):
        _listen_secret(SECRET, WS)
    with pytest.raises(click.BadParameter, match="decodes to 3 bytes"):
        _listen_secret("whsec_YWJj", None)


def test_listen_command_runs_until_interrupted() -> None:
    """The command as a user runs it: it says where it listens, prints a line per delivery, and Ctrl-C ends it
    with the counts."""
    command = [sys.executable, "-c", "from metricstore.cli import main; main()", "webhooks", "listen"]
    process = subprocess.Popen(
        [*command, "--port", "0", "--secret", SECRET],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stderr is not None and process.stdout is not None
        started = process.stderr.readline()
        assert started.startswith("listening on http://127.0.0.1:"), started
        url = started.split()[2]
        body = json.dumps(RECORD).encode()
        with http() as client:
            assert client.post(url, content=body, headers=signed(body, "msg_cli")).status_code == 200
        assert process.stdout.readline().rstrip().endswith("msg_cli call=call_1 metrics=5 required_missing=2 verified")
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=10)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "stopped: 1 verified, 0 duplicate, 0 rejected" in err


# --- the suite's receiver -----------------------------------------------------------------------------------


def _post(client: httpx.Client, url: str, body: dict[str, Any], webhook_id: str, secret: str) -> httpx.Response:
    content = json.dumps(body).encode()
    return client.post(url, content=content, headers=signed(content, webhook_id, secret))


def test_receiver_records_verifies_and_answers_as_told() -> None:
    with WebhookReceiver() as receiver, http() as client:
        assert receiver.url.startswith("http://127.0.0.1:")
        receiver.set_behaviour(status(500), status(429, {"Retry-After": "120"}), ok())
        answers = [_post(client, receiver.url, RECORD, "msg_1", receiver.secret) for _ in range(3)]
        assert [a.status_code for a in answers] == [500, 429, 200]
        assert answers[1].headers["retry-after"] == "120"

        receiver.set_behaviour(status(302, {"Location": "http://127.0.0.1:9/elsewhere"}))
        moved = _post(client, receiver.url, RECORD, "msg_2", receiver.secret)
        assert (moved.status_code, moved.headers["location"]) == (302, "http://127.0.0.1:9/elsewhere")

        receiver.set_behaviour(status(410))
        assert client.post(receiver.url, content=b"{}", headers={"webhook-id": "msg_3"}).status_code == 410

        requests = receiver.wait_for(5)
        assert receiver.verified_ids() == ["msg_1", "msg_1", "msg_1", "msg_2"]
        assert requests[0].json == RECORD and requests[0].headers["webhook-id"] == "msg_1"
        assert requests[4].verified is False and requests[4].error is not None
        assert [r.answered.code for r in requests] == [500, 429, 200, 302, 410]


def test_receiver_slow_and_close() -> None:
    with WebhookReceiver() as receiver, http() as client:
        receiver.set_behaviour(slow(2.0))
        with pytest.raises(httpx.ReadTimeout):
            client.post(receiver.url, content=b"{}", timeout=0.2)
        receiver.set_behaviour(close())
        with pytest.raises(httpx.RemoteProtocolError):
            client.post(receiver.url, content=b"{}")
        receiver.set_behaviour(slow(0.05))
        assert client.post(receiver.url, content=b"{}").status_code == 200
        assert [r.answered.kind for r in receiver.wait_for(3)] == ["slow", "close", "slow"]
