"""The HTTP server: `FakeClaude`, its routing and messages endpoint (faults, limits, prompt caching); the message
batches' endpoints are in `batches` (`_Batches`, which `FakeClaude` inherits)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Final, Self, cast
from urllib.parse import parse_qs, urlsplit

from metricstore.testing.fake_claude.answers import Responder, default_responder
from metricstore.testing.fake_claude.batches import _Batches
from metricstore.testing.fake_claude.prompt import (
    _block_text,
    _forced_tool,
    _marker_fault,
    _pieces,
    count_input_tokens,
    tokens_for_chars,
)
from metricstore.testing.fake_claude.reply import _Reply
from metricstore.testing.fake_claude.validation import _validate

FAULT_KINDS: Final[frozenset[str]] = frozenset({"429", "529", "500", "timeout", "malformed", "refusal", "truncated"})
"""The fault kinds accepted in `faults` and in `[[fake:KIND]]` markers."""

_BATCH_PATH_RE: Final = re.compile(r"^/v1/messages/batches/([^/]+)(/results|/cancel)?$")
_REFUSAL_TEXT: Final = "I'm sorry, but I can't help with that request."
_REASONS: Final[dict[int, str]] = {529: "Overloaded"}


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake received. `headers` have lower-case names; `body` is the parsed JSON or None."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024
    fake: FakeClaude


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeClaude/1.0"
    sys_version = ""
    # Headers and body leave in one write, without Nagle: otherwise delayed ACKs add ~40 ms per response.
    disable_nagle_algorithm = True
    wbufsize = -1

    @property
    def _fake(self) -> FakeClaude:
        return cast(_Server, self.server).fake

    def setup(self) -> None:
        super().setup()
        self._fake._register(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self._fake._unregister(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self, method: str) -> None:
        try:
            raw = self._read_body()
            headers = {k.lower(): v for k, v in self.headers.items()}
            reply = self._fake._handle(method, self.path, headers, raw)
            self.send_response(reply.status, _REASONS.get(reply.status))
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
            self.wfile.flush()
        except (OSError, ValueError):
            self.close_connection = True


class FakeClaude(_Batches):
    """A fake Claude API server on 127.0.0.1 (see the package docstring for the rules).

    Use as a context manager (`with FakeClaude(...) as fake:`), or call `start()` and `stop()`.
    """

    def __init__(
        self,
        *,
        responder: Responder | None = None,
        latency_seconds: float = 0.0,
        jitter_seconds: float = 0.0,
        seed: int = 0,
        requests_per_second: float | None = None,
        burst: int | None = None,
        max_concurrency: int | None = None,
        faults: Iterable[str | None] = (),
        fault_timeout_seconds: float = 5.0,
        retry_after_seconds: float = 0.1,
        server_error_retry_after_seconds: float | None = None,
        min_cache_tokens: int = 1024,
        batch_polls_until_ended: int = 1,
        api_key: str | None = None,
        port: int = 0,
    ) -> None:
        """Configure the fake; nothing listens until `start()` / `__enter__`.

        responder: `f(request_body) -> str | dict` replacing `default_responder`.
        latency_seconds, jitter_seconds, seed: each answered message waits latency + a jitter in
            [0, jitter_seconds) drawn from a hash of `seed` and the request body.
        requests_per_second, burst: a token bucket (capacity `burst`, default ceil(rps), at least 1) for
            `POST /v1/messages`; an empty bucket answers 429 with the wait until the next token.
        max_concurrency: more `POST /v1/messages` in flight than this answer 429.
        faults: consumed one per `POST /v1/messages`, in arrival order: a `FAULT_KINDS` item or None.
        fault_timeout_seconds: how long a "timeout" fault stalls before answering.
        retry_after_seconds: the retry delay advertised by scripted/marker 429s and `max_concurrency` 429s.
        server_error_retry_after_seconds: if set, 500/529 faults also carry `retry-after(-ms)`.
        min_cache_tokens: the smallest cacheable prefix, in tokens.
        batch_polls_until_ended: a batch ends on this retrieve (0: ended at creation).
        api_key: if set, the key (`x-api-key`, or the `Authorization: Bearer` token anthropic 2.x sends) must
            equal it, else 401; otherwise any key passes (a request with neither header gets 401).
        port: 0 picks a free port.
        """
        fault_list = list(faults)
        self._check_faults(fault_list)
        if requests_per_second is not None and requests_per_second <= 0:
            raise ValueError("requests_per_second must be positive")
        if max_concurrency is not None and max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        if batch_polls_until_ended < 0:
            raise ValueError("batch_polls_until_ended must be >= 0")
        self._responder: Responder = responder or default_responder
        self._latency = max(0.0, latency_seconds)
        self._jitter = max(0.0, jitter_seconds)
        self._seed = seed
        self._rps = requests_per_second
        self._capacity = float(burst if burst is not None else max(1, math.ceil(requests_per_second or 1)))
        self._max_concurrency = max_concurrency
        self._fault_timeout = fault_timeout_seconds
        self._retry_after = retry_after_seconds
        self._server_error_retry_after = server_error_retry_after_seconds
        self._min_cache_tokens = min_cache_tokens
        self._polls_until_ended = batch_polls_until_ended
        self._api_key = api_key
        self._port = port

        self._lock = threading.Lock()
        self._batch_lock = threading.RLock()
        self._stopping = threading.Event()
        self._requests: list[RecordedRequest] = []
        self._faults = fault_list
        self._fault_index = 0
        self._cache: set[str] = set()
        self._status_counts: Counter[int] = Counter()
        self._fault_counts: Counter[str] = Counter()
        self._in_flight = 0
        self._peak_in_flight = 0
        self._bucket = self._capacity
        self._bucket_updated = time.monotonic()
        self._seq = 0
        self._connections_opened = 0
        self._sockets: set[socket.socket] = set()
        self._batches = {}
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------------------------

    def start(self) -> Self:
        """Start listening (idempotent). A stopped fake cannot be restarted."""
        if self._server is not None:
            return self
        if self._stopping.is_set():
            raise RuntimeError("this FakeClaude was stopped; create a new one")
        server = _Server(("127.0.0.1", self._port), _Handler)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-claude", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the server, wake stalled requests and close open connections."""
        self._stopping.set()
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _register(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)
            self._connections_opened += 1

    def _unregister(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)

    # -- public state -----------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT`, for `anthropic.Anthropic(base_url=...)`."""
        if self._server is None:
            raise RuntimeError("FakeClaude is not running; use it as a context manager or call start()")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received, in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def message_requests(self) -> list[RecordedRequest]:
        """The `POST /v1/messages` requests received (retries included)."""
        return [r for r in self.requests if r.method == "POST" and r.path == "/v1/messages"]

    @property
    def rate_limited_count(self) -> int:
        """How many 429 responses were served (scripted, marker, concurrency and token-bucket)."""
        with self._lock:
            return self._status_counts[429]

    @property
    def status_counts(self) -> dict[int, int]:
        """Responses served, by HTTP status."""
        with self._lock:
            return dict(self._status_counts)

    @property
    def fault_counts(self) -> dict[str, int]:
        """Injected faults (scripted or marker) served on `POST /v1/messages`, by kind."""
        with self._lock:
            return dict(self._fault_counts)

    @property
    def peak_concurrency(self) -> int:
        """The most `POST /v1/messages` requests admitted (past the capacity checks) and in flight at once."""
        with self._lock:
            return self._peak_in_flight

    @property
    def connections_opened(self) -> int:
        """TCP connections accepted so far (keep-alive reuses them)."""
        with self._lock:
            return self._connections_opened

    @property
    def faults_remaining(self) -> int:
        """Items of the `faults` list not yet consumed."""
        with self._lock:
            return max(0, len(self._faults) - self._fault_index)

    def set_faults(self, faults: Iterable[str | None]) -> None:
        """Replace the scripted faults; consumption restarts at the first item."""
        fault_list = list(faults)
        self._check_faults(fault_list)
        with self._lock:
            self._faults = fault_list
            self._fault_index = 0

    def clear_cache(self) -> None:
        """Forget every cached prompt prefix."""
        with self._lock:
            self._cache.clear()

    def clear_requests(self) -> None:
        """Forget the recorded requests and counters."""
        with self._lock:
            self._requests.clear()
            self._status_counts.clear()
            self._fault_counts.clear()
            self._peak_in_flight = self._in_flight

    def answer_for(self, body: dict[str, Any]) -> str:
        """The responder's text for a request body (before faults and max_tokens cuts)."""
        answer = self._responder(body)
        return answer if isinstance(answer, str) else json.dumps(answer, ensure_ascii=False)

    @staticmethod
    def _check_faults(faults: Sequence[str | None]) -> None:
        for fault in faults:
            if fault is not None and fault not in FAULT_KINDS:
                raise ValueError(f"unknown fault {fault!r}; expected one of {sorted(FAULT_KINDS)} or None")

    # -- plumbing ---------------------------------------------------------------------------------------------

    def _next_seq(self) -> int:
        with self._lock:
            self._seq += 1
            return self._seq

    def _json(self, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> _Reply:
        request_id = f"req_fake_{self._next_seq():012d}"
        all_headers = {"content-type": "application/json", "request-id": request_id, **(headers or {})}
        return _Reply(status, all_headers, json.dumps(payload, ensure_ascii=False).encode())

    def _error(self, status: int, kind: str, message: str, headers: Mapping[str, str] | None = None) -> _Reply:
        request_id = f"req_fake_{self._next_seq():012d}"
        payload = {"type": "error", "error": {"type": kind, "message": message}, "request_id": request_id}
        all_headers = {"content-type": "application/json", "request-id": request_id, **(headers or {})}
        return _Reply(status, all_headers, json.dumps(payload).encode())

    @staticmethod
    def _retry_headers(wait: float) -> dict[str, str]:
        return {"retry-after": str(max(1, math.ceil(wait))), "retry-after-ms": str(max(1, math.ceil(wait * 1000)))}

    def _ratelimit_headers(self, tokens_used: int) -> dict[str, str]:
        now = datetime.now(UTC)
        if self._rps is None:
            limit, remaining, reset = 1_000_000, 999_999, now
        else:
            with self._lock:
                remaining = int(self._bucket)
            limit = int(self._capacity)
            reset = now + timedelta(seconds=(self._capacity - remaining) / self._rps)
        token_limit = 10_000_000
        return {
            "anthropic-ratelimit-requests-limit": str(limit),
            "anthropic-ratelimit-requests-remaining": str(max(0, remaining)),
            "anthropic-ratelimit-requests-reset": reset.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "anthropic-ratelimit-tokens-limit": str(token_limit),
            "anthropic-ratelimit-tokens-remaining": str(max(0, token_limit - tokens_used)),
            "anthropic-ratelimit-tokens-reset": (now + timedelta(seconds=60)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }

    def _handle(self, method: str, raw_path: str, headers: dict[str, str], raw_body: bytes) -> _Reply:
        split = urlsplit(raw_path)
        path = split.path.rstrip("/") or "/"
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        body: Any = None
        parse_error = False
        if raw_body:
            try:
                body = json.loads(raw_body)
            except ValueError:
                parse_error = True
        with self._lock:
            self._requests.append(RecordedRequest(method, path, query, headers, body))
        try:
            reply = self._route(method, path, query, headers, body, parse_error, raw_body)
        except Exception as exc:  # a bug in the fake (or a test's responder) surfaces as a 500 naming it
            reply = self._error(500, "api_error", f"FakeClaude failed: {type(exc).__name__}: {exc}")
        with self._lock:
            self._status_counts[reply.status] += 1
        return reply

    def _route(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        body: Any,
        parse_error: bool,
        raw_body: bytes,
    ) -> _Reply:
        # anthropic 2.x sends `api_key` as `Authorization: Bearer <key>`; older clients and curl use `x-api-key`.
        authorization = headers.get("authorization", "")
        bearer = authorization[7:].strip() if authorization.lower().startswith("bearer ") else None
        key = headers.get("x-api-key") or bearer
        if key is None:
            return self._error(401, "authentication_error", "x-api-key or Authorization header is required")
        if self._api_key is not None and key != self._api_key:
            return self._error(401, "authentication_error", "invalid API key")
        if parse_error:
            return self._error(400, "invalid_request_error", "The request body is not valid JSON.")
        if method == "POST" and path == "/v1/messages":
            return self._messages(body, raw_body)
        if method == "POST" and path == "/v1/messages/count_tokens":
            error = _validate(body, need_max_tokens=False)
            if error:
                return self._error(400, "invalid_request_error", error)
            return self._json(200, {"input_tokens": count_input_tokens(body)})
        if path == "/v1/messages/batches":
            if method == "POST":
                return self._batch_create(body)
            if method == "GET":
                return self._batch_list(query)
        match = _BATCH_PATH_RE.match(path)
        if match:
            batch_id, suffix = match.group(1), match.group(2)
            if method == "GET" and suffix is None:
                return self._batch_retrieve(batch_id)
            if method == "GET" and suffix == "/results":
                return self._batch_results(batch_id)
            if method == "POST" and suffix == "/cancel":
                return self._batch_cancel(batch_id)
            if method == "DELETE" and suffix is None:
                return self._batch_delete(batch_id)
        return self._error(404, "not_found_error", f"{method} {path} is not served by FakeClaude")

    # -- messages ---------------------------------------------------------------------------------------------

    def _messages(self, body: Any, raw_body: bytes) -> _Reply:
        error = _validate(body)
        if error:
            return self._error(400, "invalid_request_error", error)
        if body.get("stream"):
            return self._error(400, "invalid_request_error", "FakeClaude does not support streaming")
        with self._lock:
            scripted = self._faults[self._fault_index] if self._fault_index < len(self._faults) else None
            self._fault_index += 1
        fault = scripted or _marker_fault(body)
        if fault == "429":
            self._count_fault("429")
            return self._error(
                429, "rate_limit_error", "Rate limited (injected).", self._retry_headers(self._retry_after)
            )
        with self._lock:
            over = self._max_concurrency is not None and self._in_flight >= self._max_concurrency
            wait = None if over else self._take_token()
            admitted = not over and wait is None
            if admitted:
                self._in_flight += 1
                self._peak_in_flight = max(self._peak_in_flight, self._in_flight)
        if over:
            headers = {**self._ratelimit_headers(0), **self._retry_headers(self._retry_after)}
            return self._error(429, "rate_limit_error", "Too many concurrent requests.", headers)
        if wait is not None:
            headers = {**self._ratelimit_headers(0), **self._retry_headers(wait)}
            return self._error(429, "rate_limit_error", "Number of requests per second exceeded.", headers)
        try:
            self._stopping.wait(self._latency_for(raw_body))
            if fault in ("500", "529"):
                self._count_fault(fault)
                retry = self._server_error_retry_after
                extra = self._retry_headers(retry) if retry is not None else {}
                if fault == "529":
                    return self._error(529, "overloaded_error", "Overloaded (injected).", extra)
                return self._error(500, "api_error", "Internal server error (injected).", extra)
            if fault == "timeout":
                self._count_fault("timeout")
                self._stopping.wait(self._fault_timeout)
            elif fault is not None:
                self._count_fault(fault)
            try:
                content_fault = None if fault == "timeout" else fault
                message = self._compose(body, content_fault, self._cache, self._lock, "standard")
            except Exception as exc:  # a broken responder is the test's bug: say so in a 500
                return self._error(500, "api_error", f"responder raised {type(exc).__name__}: {exc}")
            usage = message["usage"]
            used = usage["input_tokens"] + usage["output_tokens"]
            return self._json(200, message, self._ratelimit_headers(used))
        finally:
            with self._lock:
                self._in_flight -= 1

    def _count_fault(self, kind: str) -> None:
        with self._lock:
            self._fault_counts[kind] += 1

    def _take_token(self) -> float | None:
        """Caller holds the lock. None when a token was taken, else the seconds until one is available."""
        if self._rps is None:
            return None
        now = time.monotonic()
        self._bucket = min(self._capacity, self._bucket + (now - self._bucket_updated) * self._rps)
        self._bucket_updated = now
        if self._bucket >= 1:
            self._bucket -= 1
            return None
        return (1 - self._bucket) / self._rps

    def _latency_for(self, raw_body: bytes) -> float:
        if self._jitter <= 0:
            return self._latency
        digest = hashlib.sha256(str(self._seed).encode() + b"\x00" + raw_body).digest()
        return self._latency + self._jitter * int.from_bytes(digest[:8], "big") / 2**64

    def _usage(
        self,
        body: Mapping[str, Any],
        cache: set[str],
        lock: contextlib.AbstractContextManager[Any],
        output_tokens: int,
        service_tier: str,
    ) -> dict[str, Any]:
        pieces = _pieces(body)
        total = tokens_for_chars(sum(len(p.text) for p in pieces))
        running = hashlib.sha256(str(body.get("model")).encode() + b"\x00")
        chars = 0
        points: list[tuple[int, str, str]] = []
        for piece in pieces:
            running.update(f"{piece.kind}\x00{len(piece.text)}\x00".encode() + piece.text.encode())
            chars += len(piece.text)
            if piece.cache_control is not None and tokens_for_chars(chars) >= self._min_cache_tokens:
                ttl = "1h" if piece.cache_control.get("ttl") == "1h" else "5m"
                points.append((chars, running.copy().hexdigest(), ttl))
        read_chars = 0
        created = 0
        ttl = "5m"
        with lock:
            for point_chars, digest, _ in reversed(points):
                if digest in cache:
                    read_chars = point_chars
                    break
            if points and points[-1][0] > read_chars:
                created = tokens_for_chars(points[-1][0]) - tokens_for_chars(read_chars)
                ttl = points[-1][2]
            cache.update(digest for _, digest, _ in points)
        read = tokens_for_chars(read_chars)
        return {
            "input_tokens": total - read - created,
            "output_tokens": output_tokens,
            "cache_creation_input_tokens": created,
            "cache_read_input_tokens": read,
            "cache_creation": {
                "ephemeral_5m_input_tokens": created if ttl == "5m" else 0,
                "ephemeral_1h_input_tokens": created if ttl == "1h" else 0,
            },
            "server_tool_use": None,
            "service_tier": service_tier,
        }

    def _compose(
        self,
        body: dict[str, Any],
        fault: str | None,
        cache: set[str],
        lock: contextlib.AbstractContextManager[Any],
        service_tier: str,
    ) -> dict[str, Any]:
        """A Message JSON for the request, with a content fault ("malformed", "refusal", "truncated") applied."""
        text = self.answer_for(body)
        messages = body["messages"]
        last = messages[-1]
        if last.get("role") == "assistant":  # continue a prefill
            prefill = (
                _block_text(last["content"])
                if isinstance(last["content"], str)
                else "".join(_block_text(b) for b in last["content"])
            )
            if prefill and text.startswith(prefill):
                text = text[len(prefill) :]
        stop_reason = "end_turn"
        stop_sequence: str | None = None
        stop_details: dict[str, Any] | None = None
        if fault == "malformed":
            digest = hashlib.sha256(text.encode()).hexdigest()[:8]
            text = f"Sure! Here is the answer you asked for (ref {digest}): {{'result': <unterminated"
        elif fault == "refusal":
            text = _REFUSAL_TEXT
            stop_reason = "refusal"
            stop_details = {"type": "refusal", "category": None, "explanation": None}
        elif fault == "truncated":
            text = text[: len(text) // 2]
            stop_reason = "max_tokens"
        stops = [s for s in body.get("stop_sequences") or [] if isinstance(s, str) and s]
        if stop_reason == "end_turn" and stops:
            hits = [(text.find(s), s) for s in stops if s in text]
            if hits:
                cut, stop_sequence = min(hits)
                text = text[:cut]
                stop_reason = "stop_sequence"
        max_tokens = int(body["max_tokens"])
        if stop_reason != "refusal" and tokens_for_chars(len(text)) > max_tokens:
            text = text[: max_tokens * 4]
            stop_reason = "max_tokens"
            stop_sequence = None
        content: list[dict[str, Any]] = [{"type": "text", "text": text}]
        tool = _forced_tool(body)
        if tool is not None and stop_reason == "end_turn" and fault is None:
            with contextlib.suppress(ValueError):
                tool_input = json.loads(text)
                if isinstance(tool_input, dict):
                    tool_id = "toolu_fake_" + hashlib.sha256(text.encode()).hexdigest()[:20]
                    content = [{"type": "tool_use", "id": tool_id, "name": tool.get("name"), "input": tool_input}]
                    stop_reason = "tool_use"
        usage = self._usage(body, cache, lock, tokens_for_chars(len(text)), service_tier)
        return {
            "id": f"msg_fake_{self._next_seq():012d}",
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": stop_sequence,
            "stop_details": stop_details,
            "container": None,
            "usage": usage,
        }
