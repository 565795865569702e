"""A local receiver of post-call webhooks (``metricstore webhooks listen``): it verifies each POST's Standard
Webhooks signature with the workspace's secret and prints one line per delivery, so that a workspace whose
webhook points at this machine can be watched (or piped, with ``--json``) while the job or
``metricstore webhooks deliver`` sends.

Standard library only (``http.server``); it listens on the host it is given (loopback by default).
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TextIO

from standardwebhooks import Webhook, WebhookVerificationError

MAX_BODY_BYTES = 16 * 1024 * 1024  # far above a post-call record; a bigger body is refused unread


@dataclass
class ListenCounts:
    """What a listener received: verified deliveries, repeats of one already received, refused requests."""

    verified: int = 0
    duplicate: int = 0
    rejected: int = 0

    def summary(self) -> str:
        return f"{self.verified} verified, {self.duplicate} duplicate, {self.rejected} rejected"


@dataclass(frozen=True)
class DeliverySummary:
    """What one post-call body says, in brief."""

    conversation_id: str
    metrics: int  # default and custom metrics in the record
    required_missing: int  # required metrics without a value


def summarize(body: Any) -> DeliverySummary:
    """The conversation, the number of metrics and of required metrics without a value of a post-call body
    (``{"callData": {…, "customMetrics": {key: {"value", "schema"}}}, "metricSchema": {key: {…}}}``)."""
    record = _mapping(body)
    call = _mapping(record.get("callData"))
    schema = _mapping(record.get("metricSchema"))
    custom = _mapping(call.get("customMetrics"))
    missing = 0
    for key, metric in schema.items():
        if isinstance(metric, dict) and metric.get("isRequired"):
            # a custom metric's value is in customMetrics, a default one's under its field name in callData
            entry = custom.get(key)
            value = entry.get("value") if isinstance(entry, dict) else call.get(key)
            missing += value is None
    return DeliverySummary(str(call.get("id", "-")), len(set(schema) | set(custom)), missing)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class WebhookListener:
    """An HTTP server that verifies and reports post-call deliveries; use as a context manager, then
    :meth:`serve_forever` (blocks) or :meth:`serve_until_interrupted` (returns the counts at Ctrl-C).

    Each POST is verified with ``standardwebhooks.Webhook(secret).verify``: a verified delivery is answered 200
    and reported as ``verified``, or ``duplicate`` when its ``webhook-id`` was already received (a resend of the
    same message); a missing or wrong signature is answered 400 and reported ``REJECTED: <reason>``. With
    ``as_json`` the verified bodies are written to ``out`` (one JSON line each, duplicates left out) and every other
    line to ``err``."""

    def __init__(
        self,
        secret: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        as_json: bool = False,
        out: TextIO | None = None,
        err: TextIO | None = None,
    ):
        self._webhook = Webhook(secret)
        self._host = host
        self._as_json = as_json
        self._out = out or sys.stdout
        self._err = err or sys.stderr
        self._lock = threading.Lock()
        self._seen: set[str] = set()
        self.counts = ListenCounts()
        self._server = _Server((host, port), _Handler, self)

    @property
    def url(self) -> str:
        """Where the listener answers, e.g. ``http://127.0.0.1:8787/`` (every path is the same)."""
        port = self._server.server_address[1]
        shown = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{shown}:{port}/"

    def serve_forever(self) -> None:
        """Answer requests until :meth:`shutdown` is called from another thread."""
        self._server.serve_forever(poll_interval=0.1)

    def serve_until_interrupted(self) -> ListenCounts:
        """Answer requests until Ctrl-C; the counts."""
        with contextlib.suppress(KeyboardInterrupt):
            self._server.serve_forever(poll_interval=0.1)
        return self.counts

    def shutdown(self) -> None:
        """Stop :meth:`serve_forever` (from another thread)."""
        self._server.shutdown()

    def close(self) -> None:
        """Release the port."""
        self._server.server_close()

    def __enter__(self) -> WebhookListener:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def receive(self, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        """Verify and report one delivery; the status to answer and why."""
        at = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        webhook_id = {k.lower(): v for k, v in headers.items()}.get("webhook-id") or "-"
        try:
            self._webhook.verify(body, headers, json_parse=False)
        except Exception as exc:  # the library raises more than its own error on malformed headers or bodies
            return self._rejected(at, webhook_id, _reason(exc))
        try:
            record = json.loads(body)
        except ValueError:
            return self._rejected(at, webhook_id, "the body is not JSON")
        summary = summarize(record)
        with self._lock:
            duplicate = webhook_id in self._seen
            self._seen.add(webhook_id)
            if duplicate:
                self.counts.duplicate += 1
            else:
                self.counts.verified += 1
            line = (
                f"{at} {webhook_id} call={summary.conversation_id} metrics={summary.metrics} "
                f"required_missing={summary.required_missing} {'duplicate' if duplicate else 'verified'}"
            )
            if self._as_json and not duplicate:
                _write(self._out, json.dumps(record, ensure_ascii=False))
            else:
                _write(self._err if self._as_json else self._out, line)
        return 200, "duplicate" if duplicate else "verified"

    def _rejected(self, at: str, webhook_id: str, reason: str) -> tuple[int, str]:
        with self._lock:
            self.counts.rejected += 1
            _write(self._err if self._as_json else self._out, f"{at} {webhook_id} REJECTED: {reason}")
        return 400, reason


def _reason(exc: Exception) -> str:
    if isinstance(exc, WebhookVerificationError):
        return str(exc)
    return f"malformed signature headers or body ({type(exc).__name__})"


def _write(stream: TextIO, line: str) -> None:
    stream.write(line + "\n")
    stream.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # Ctrl-C does not wait for a client that keeps its connection open

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], listener: WebhookListener):
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.listener = listener
        super().__init__(address, handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "metricstore-webhooks-listen"

    def do_POST(self) -> None:  # the name http.server dispatches to
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self._answer(HTTPStatus.LENGTH_REQUIRED, "send a Content-Length")
            return
        if not 0 <= length <= MAX_BODY_BYTES:
            self._answer(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"at most {MAX_BODY_BYTES} bytes")
            return
        body = self.rfile.read(length)
        status, message = self.server.listener.receive(body, dict(self.headers.items()))
        self._answer(HTTPStatus(status), message)

    def _refuse_method(self) -> None:
        self._answer(HTTPStatus.METHOD_NOT_ALLOWED, "deliveries are POSTed", {"Allow": "POST"})

    do_GET = do_PUT = do_PATCH = do_DELETE = _refuse_method

    def _answer(self, status: HTTPStatus, message: str, headers: dict[str, str] | None = None) -> None:
        payload = json.dumps({"status": status.value, "message": message}).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per delivery is printed by the listener, not the server's access log
