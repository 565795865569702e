"""A durable journal of a fan-out's model calls, beside the warehouse, so that a process killed mid fan-out
loses no answer it received and no call it was billed for.

The fan-out stores what it was answered every few seconds (metricstore.evaluation.run); the journal covers
the time in between. Per call it appends, each line fsynced before the program goes on: ``sent`` before
every request leaves (so a call cut short is still known), ``billed`` when an answer came back but will be
asked again, and ``done`` with the final record and the answers to cache as soon as the call has them. The
next run replays every journal it finds before it evaluates: answers go to ops.llm_cache (the rerun reads
them as cache hits instead of buying them again), every call to ops.llm_calls, and a call with no ``done``
line as ``interrupted`` with the tokens known when the process died. A journal is removed once everything
in it is stored.

DuckDB lets one process at a time write a warehouse, so a journal found while this process holds the
warehouse was left by a process that ended.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import duckdb

from metricstore.definitions import MetricDefinition
from metricstore.durable import fsync_directory
from metricstore.evaluation.base import Conversation, Evaluation
from metricstore.evaluation.claude import CallRecord
from metricstore.evaluation.store import cache_key, cache_row, call_row, content_hash, write_evaluations
from metricstore.windows import utc_now

SUFFIX = ".llm-journal-"
CUT_SHORT = "the process ended before the answer arrived; the request may have been billed for tokens not known here"


def warehouse_path(conn: duckdb.DuckDBPyConnection) -> Path | None:
    """The warehouse file of a connection, or None for an in-memory database (nothing to keep a journal for)."""
    row = conn.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()
    return Path(row[0]) if row and row[0] else None


class CallJournal:
    """The append-only journal of one fan-out (a file created at its first line)."""

    def __init__(self, warehouse: Path | None, run_id: str | None, name: str) -> None:
        self.path = warehouse.with_name(f"{warehouse.name}{SUFFIX}{name}.jsonl") if warehouse else None
        self.run_id = run_id
        self._file: IO[str] | None = None

    def sent(self, record: CallRecord, tier: str) -> None:
        """A request of ``record`` is about to leave."""
        self._append("sent", record, tier)

    def billed(self, record: CallRecord, tier: str) -> None:
        """An answer came back and was billed, but the call will ask again."""
        self._append("billed", record, tier)

    def done(
        self,
        record: CallRecord,
        tier: str,
        conversation: Conversation,
        metrics: Sequence[MetricDefinition],
        evaluations: Sequence[Evaluation],
        sample: int = 1,
    ) -> None:
        """The call is final: its record and the cache entries of the answers it brought (for a metric that asks
        for repeated answers, under the key of this ``sample``: its final value is the agreement of them all)."""
        now = utc_now()
        content = content_hash(conversation.call)
        by_key = {m.key: m for m in metrics}
        cache = []
        for e in evaluations:
            if e.status in ("error", "skipped"):
                continue
            metric = by_key[e.metric_key]
            key = cache_key(content, metric, record.model, sample if metric.confidence_samples else None)
            cache.append(cache_row(key, metric, e, now))
        self._append("done", record, tier, cache=cache)

    def close(self) -> None:
        """Stop writing; the file stays for the next run to replay."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def discard(self) -> None:
        """Everything journalled is stored: remove the file."""
        self.close()
        if self.path is not None:
            self.path.unlink(missing_ok=True)

    def _append(self, entry: str, record: CallRecord, tier: str, **extra: Any) -> None:
        if self.path is None:
            return
        if self._file is None:
            self._file = self.path.open("a", encoding="utf-8")
            fsync_directory(self.path.parent)  # the file's name survives a machine crash too
        line = {"entry": entry, "tier": tier, "run_id": self.run_id, "at": utc_now(), "record": asdict(record)}
        # Written synchronously from the event loop: nothing else runs between an answer's arrival and this line.
        self._file.write(json.dumps({**line, **extra}, default=str) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())


def replay_journals(conn: duckdb.DuckDBPyConnection) -> int:
    """Store what the journals of ended processes hold (answers to the cache, every call once, calls without a
    ``done`` line as ``interrupted``) and remove them; returns the number of calls they held."""
    warehouse = warehouse_path(conn)
    if warehouse is None:
        return 0
    calls = 0
    for path in sorted(p for p in warehouse.parent.glob("*.jsonl") if p.name.startswith(warehouse.name + SUFFIX)):
        last: dict[str, dict[str, Any]] = {}
        cache: list[dict[str, Any]] = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:  # a line torn by the kill: its request had not left yet
                continue
            last[entry["record"]["call_id"]] = entry
            for row in entry.get("cache", []):
                cache.append({**row, "created_at": datetime.fromisoformat(row["created_at"])})
        rows = []
        for entry in last.values():
            record = CallRecord(**entry["record"])
            if entry["entry"] != "done":
                record.outcome, record.error = "interrupted", CUT_SHORT
            rows.append(call_row(record, entry["tier"], entry["run_id"], datetime.fromisoformat(entry["at"])))
        write_evaluations(conn, [], cache, rows)
        path.unlink()
        calls += len(rows)
    return calls
