"""A programmable webhook receiver for the tests: an HTTP server on 127.0.0.1 (a free port) in a thread that
records every request, checks its Standard Webhooks signature and answers as the test tells it to.

    with WebhookReceiver(SECRET) as receiver:           # receiver.url → http://127.0.0.1:<port>/hook
        receiver.set_behaviour(status(500), ok())       # the first request gets 500, every later one 200
        ...
        receiver.wait_for(2)
        assert receiver.verified_ids() == [id_, id_]

Behaviours: :func:`ok` (200), :func:`status` (any code with headers: 500, 429 with ``Retry-After``, 410, 302
with ``Location``), :func:`slow` (waits, then 200), :func:`close` (drops the connection without an answer).
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

from standardwebhooks import Webhook


@dataclass(frozen=True)
class Behaviour:
    """How the receiver answers one request."""

    kind: Literal["status", "slow", "close"]
    code: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    seconds: float = 0.0


def ok() -> Behaviour:
    """Answer 200."""
    return Behaviour("status")


def status(code: int, headers: Mapping[str, str] | None = None) -> Behaviour:
    """Answer ``code`` with ``headers``: ``status(429, {"Retry-After": "120"})``, ``status(302, {"Location": …})``."""
    return Behaviour("status", code, dict(headers or {}))


def slow(seconds: float) -> Behaviour:
    """Wait ``seconds`` (less if the receiver stops), then answer 200."""
    return Behaviour("slow", seconds=seconds)


def close() -> Behaviour:
    """Read the request, then close the connection without answering."""
    return Behaviour("close")


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as the receiver got it."""

    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes
    json: Any  # the parsed body, None when it is not JSON
    webhook_id: str | None
    verified: bool  # the signature verified with the receiver's secret
    error: str | None  # why it did not verify
    at: datetime  # when it arrived (UTC)
    answered: Behaviour


def new_secret() -> str:
    """A random ``whsec_`` secret."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class WebhookReceiver:
    """A receiver on ``127.0.0.1`` in a background thread (a context manager). ``received`` lists every request in
    the order they arrived; :meth:`set_behaviour` changes the answers at any time."""

    def __init__(self, secret: str | None = None, *, path: str = "/hook"):
        self.secret = secret or new_secret()
        self._webhook = Webhook(self.secret)
        self._lock = threading.Condition()
        self._script: list[Behaviour] = []
        self._default = ok()
        self._stopping = threading.Event()
        self.received: list[ReceivedRequest] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stopping.set()  # a slow answer in progress ends now
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def set_behaviour(self, *behaviours: Behaviour) -> None:
        """Answer the next requests with ``behaviours`` in turn, the last one for every request after them."""
        if not behaviours:
            raise ValueError("give at least one behaviour")
        with self._lock:
            self._script = list(behaviours[:-1])
            self._default = behaviours[-1]

    def verified_ids(self) -> list[str]:
        """The ``webhook-id`` of every verified request, in order (a retry repeats its id)."""
        with self._lock:
            return [r.webhook_id for r in self.received if r.verified and r.webhook_id]

    def wait_for(self, count: int, timeout: float = 5.0) -> list[ReceivedRequest]:
        """Wait until at least ``count`` requests have arrived; the requests (AssertionError on timeout)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(self.received)} request(s) received, {count} expected")
                self._lock.wait(left)
            return list(self.received)

    def _record(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Behaviour:
        """Record a request (before it is answered) and choose its answer."""
        error: str | None = None
        try:
            self._webhook.verify(body, headers, json_parse=False)
        except Exception as exc:  # the library raises more than its own error on malformed headers
            error = f"{type(exc).__name__}: {exc}"
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        with self._lock:
            answer = self._script.pop(0) if self._script else self._default
            request = ReceivedRequest(
                method=method,
                path=path,
                headers=headers,
                body=body,
                json=parsed,
                webhook_id=headers.get("webhook-id"),
                verified=error is None,
                error=error,
                at=datetime.now(UTC),
                answered=answer,
            )
            self.received.append(request)
            self._lock.notify_all()
        return answer


def _handler_for(receiver: WebhookReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {name.lower(): value for name, value in self.headers.items()}
            answer = receiver._record(self.command, self.path, headers, body)
            if answer.kind == "close":
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)  # the client sees the connection end, no answer
                return
            if answer.kind == "slow":
                receiver._stopping.wait(answer.seconds)
            payload = b'{"ok": true}' if answer.code < 300 else b""
            try:
                self.send_response(answer.code)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:  # the client gave up waiting (its timeout): nothing to answer
                self.close_connection = True

        do_POST = do_GET = do_PUT = _handle

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
