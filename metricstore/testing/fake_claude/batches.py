"""The Message Batches API of `FakeClaude` (the package docstring gives the rules): `_Batches` holds the batch
endpoints (create, retrieve, results, cancel, delete, list) and the batches' state, and `FakeClaude` inherits it;
its `_route` calls these methods."""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, cast

from metricstore.testing.fake_claude.prompt import _marker_fault
from metricstore.testing.fake_claude.reply import _Reply
from metricstore.testing.fake_claude.validation import _validate

if TYPE_CHECKING:
    from metricstore.testing.fake_claude.server import _Server

_ERROR_FAULTS: Final[frozenset[str]] = frozenset({"429", "529", "500", "timeout"})
_CUSTOM_ID_RE: Final = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


@dataclass
class _Batch:
    id: str
    seq: int
    requests: list[dict[str, Any]]
    created_at: datetime
    polls: int = 0
    status: str = "in_progress"
    cancel_initiated_at: datetime | None = None
    ended_at: datetime | None = None
    results: list[dict[str, Any]] = field(default_factory=list)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


class _Batches:
    """The batch endpoints of `FakeClaude`. The attributes are set by `FakeClaude.__init__`; the methods under
    TYPE_CHECKING are `FakeClaude`'s, named here for the type checker."""

    _batches: dict[str, _Batch]
    _batch_lock: threading.RLock
    _polls_until_ended: int
    _server: _Server | None

    if TYPE_CHECKING:

        def _next_seq(self) -> int: ...

        def _json(self, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> _Reply: ...

        def _error(self, status: int, kind: str, message: str, headers: Mapping[str, str] | None = None) -> _Reply: ...

        def _compose(
            self,
            body: dict[str, Any],
            fault: str | None,
            cache: set[str],
            lock: contextlib.AbstractContextManager[Any],
            service_tier: str,
        ) -> dict[str, Any]: ...

    def _batch_json(self, batch: _Batch) -> dict[str, Any]:
        ended = batch.status == "ended"
        counts = Counter(r["result"]["type"] for r in batch.results) if ended else Counter[str]()
        base = f"http://127.0.0.1:{self._server.server_address[1]}" if self._server else ""
        return {
            "id": batch.id,
            "type": "message_batch",
            "processing_status": batch.status,
            "request_counts": {
                "processing": 0 if ended else len(batch.requests),
                "succeeded": counts["succeeded"],
                "errored": counts["errored"],
                "canceled": counts["canceled"],
                "expired": counts["expired"],
            },
            "created_at": _iso(batch.created_at),
            "expires_at": _iso(batch.created_at + timedelta(hours=24)),
            "ended_at": _iso(batch.ended_at),
            "cancel_initiated_at": _iso(batch.cancel_initiated_at),
            "archived_at": None,
            "results_url": f"{base}/v1/messages/batches/{batch.id}/results" if ended else None,
        }

    def _batch_create(self, body: Any) -> _Reply:
        requests = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(requests, list) or not requests:
            return self._error(400, "invalid_request_error", "requests: at least one request is required")
        seen: set[str] = set()
        for i, item in enumerate(requests):
            custom_id = item.get("custom_id") if isinstance(item, dict) else None
            if not isinstance(custom_id, str) or not _CUSTOM_ID_RE.match(custom_id):
                return self._error(
                    400, "invalid_request_error", f"requests.{i}.custom_id: must match ^[a-zA-Z0-9_-]{{1,64}}$"
                )
            if custom_id in seen:
                return self._error(400, "invalid_request_error", f"requests.{i}.custom_id: duplicate {custom_id!r}")
            seen.add(custom_id)
            error = _validate(item.get("params"))
            if error:
                return self._error(400, "invalid_request_error", f"requests.{i}.params.{error}")
            if item["params"].get("stream"):
                return self._error(400, "invalid_request_error", f"requests.{i}.params.stream: not allowed")
        seq = self._next_seq()
        batch = _Batch(id=f"msgbatch_fake_{seq:012d}", seq=seq, requests=requests, created_at=datetime.now(UTC))
        with self._batch_lock:
            self._batches[batch.id] = batch
            if self._polls_until_ended == 0:
                self._end_batch(batch)
            return self._json(200, self._batch_json(batch))

    def _end_batch(self, batch: _Batch) -> None:
        """Caller holds the batch lock."""
        cache: set[str] = set()
        no_lock = contextlib.nullcontext()
        results: list[dict[str, Any]] = []
        for item in batch.requests:
            params = cast(dict[str, Any], item["params"])
            result: dict[str, Any]
            if batch.status == "canceling":
                result = {"type": "canceled"}
            else:
                fault = _marker_fault(params)
                if fault in _ERROR_FAULTS:
                    kind = {"429": "rate_limit_error", "529": "overloaded_error"}.get(fault or "", "api_error")
                    result = self._errored(kind, f"Injected fault {fault}.")
                else:
                    try:
                        message = self._compose(params, fault, cache, no_lock, "batch")
                        result = {"type": "succeeded", "message": message}
                    except Exception as exc:
                        result = self._errored("api_error", f"responder raised {type(exc).__name__}: {exc}")
            results.append({"custom_id": item["custom_id"], "result": result})
        batch.results = results
        batch.status = "ended"
        batch.ended_at = datetime.now(UTC)

    def _errored(self, kind: str, message: str) -> dict[str, Any]:
        request_id = f"req_fake_{self._next_seq():012d}"
        error = {"type": "error", "error": {"type": kind, "message": message}, "request_id": request_id}
        return {"type": "errored", "error": error}

    def _batch_retrieve(self, batch_id: str) -> _Reply:
        with self._batch_lock:
            batch = self._batches.get(batch_id)
            if batch is None:
                return self._error(404, "not_found_error", f"No message batch with id {batch_id!r}")
            batch.polls += 1
            if batch.status == "canceling" or (
                batch.status == "in_progress" and batch.polls >= self._polls_until_ended
            ):
                self._end_batch(batch)
            return self._json(200, self._batch_json(batch))

    def _batch_results(self, batch_id: str) -> _Reply:
        with self._batch_lock:
            batch = self._batches.get(batch_id)
            if batch is None:
                return self._error(404, "not_found_error", f"No message batch with id {batch_id!r}")
            if batch.status != "ended":
                return self._error(400, "invalid_request_error", "Results are not available until the batch ends.")
            lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in batch.results)
        request_id = f"req_fake_{self._next_seq():012d}"
        return _Reply(200, {"content-type": "application/binary", "request-id": request_id}, lines.encode())

    def _batch_cancel(self, batch_id: str) -> _Reply:
        with self._batch_lock:
            batch = self._batches.get(batch_id)
            if batch is None:
                return self._error(404, "not_found_error", f"No message batch with id {batch_id!r}")
            if batch.status == "in_progress":
                batch.status = "canceling"
                batch.cancel_initiated_at = datetime.now(UTC)
            return self._json(200, self._batch_json(batch))

    def _batch_delete(self, batch_id: str) -> _Reply:
        with self._batch_lock:
            batch = self._batches.get(batch_id)
            if batch is None:
                return self._error(404, "not_found_error", f"No message batch with id {batch_id!r}")
            if batch.status != "ended":
                return self._error(400, "invalid_request_error", "A batch must end before it can be deleted.")
            del self._batches[batch_id]
        return self._json(200, {"id": batch_id, "type": "message_batch_deleted"})

    def _batch_list(self, query: Mapping[str, str]) -> _Reply:
        try:
            limit = max(1, min(1000, int(query.get("limit", "20"))))
        except ValueError:
            return self._error(400, "invalid_request_error", "limit: Input should be a valid integer")
        with self._batch_lock:
            ordered = sorted(self._batches.values(), key=lambda b: -b.seq)
            ids = [b.id for b in ordered]
            if "after_id" in query and query["after_id"] in ids:
                ordered = ordered[ids.index(query["after_id"]) + 1 :]
                page = ordered[:limit]
                has_more = len(ordered) > limit
            elif "before_id" in query and query["before_id"] in ids:
                ordered = ordered[: ids.index(query["before_id"])]
                page = ordered[-limit:]
                has_more = len(ordered) > limit
            else:
                page = ordered[:limit]
                has_more = len(ordered) > limit
            data = [self._batch_json(b) for b in page]
        return self._json(
            200,
            {
                "data": data,
                "has_more": has_more,
                "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None,
            },
        )
