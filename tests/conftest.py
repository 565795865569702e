"""Shared fixtures: landing folders written from Python dicts, and a fresh warehouse per test."""

from __future__ import annotations

import gzip
import ipaddress
import json
import socket
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest

from metricstore.catalog_loader import MetricCatalog, load_catalog
from metricstore.warehouse import connect

REPO = Path(__file__).resolve().parent.parent


class OutsideLoopbackError(AssertionError):
    """A test tried to open a connection to an address outside 127.0.0.0/8 (or ::1)."""


def _loopback_only(connect: Any) -> Any:
    def guarded(sock: socket.socket, address: Any) -> Any:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            host = str(address[0]).split("%")[0]
            try:
                loopback = ipaddress.ip_address(host).is_loopback
            except ValueError:  # a name: only localhost, whatever it resolves to elsewhere
                loopback = host == "localhost"
            if not loopback:
                raise OutsideLoopbackError(f"tests may connect to loopback only, not {address!r}")
        return connect(sock, address)

    return guarded


@pytest.fixture(autouse=True, scope="session")
def loopback_only() -> Iterator[None]:
    """No test opens a connection outside 127.0.0.0/8, even by mistake: every TCP/UDP connect of this process
    (sync sockets, asyncio's, httpx's) is checked before it is made."""
    original = socket.socket.connect, socket.socket.connect_ex
    socket.socket.connect = _loopback_only(original[0])  # type: ignore[method-assign]
    socket.socket.connect_ex = _loopback_only(original[1])  # type: ignore[method-assign]
    yield
    socket.socket.connect, socket.socket.connect_ex = original  # type: ignore[method-assign]


SHARED_DATASETS = REPO.parent / "shared" / "datasets"

# A custom metric exactly as the metric-store docs show it (and the contract smoke test pastes it).
DOCS_METRIC = {
    "key": "docs_quality",
    "name": "Voice Quality Score",
    "metric_type": "numerical",
    "source": "call_intelligence",
    "event_types": ["call_intelligence.row"],
    "extraction_mode": "static",
    "extract_path": "$.quality_score",
    "aggregation": "avg",
    "unit": "score",
    "active": True,
}


def event(
    event_id: str,
    occurred_at: str,
    *,
    source: str = "call_intelligence",
    event_type: str | None = None,
    workspace_id: str = "ws_test",
    channel: str = "voice",
    direction: str | None = "inbound",
    is_simulation: bool = False,
    session_id: str | None = "s1",
    service_id: str | None = "svc",
    **data: Any,
) -> dict[str, Any]:
    """One landing event with the CONTRACT §3 envelope; keyword arguments become `data`."""
    return {
        "event_id": event_id,
        "source": source,
        "event_type": event_type or ("call_intelligence.row" if source == "call_intelligence" else f"{source}.x"),
        "workspace_id": workspace_id,
        "occurred_at": occurred_at,
        "session_id": session_id,
        "service_id": service_id,
        "channel": channel,
        "direction": direction,
        "is_simulation": is_simulation,
        "data": data,
    }


def write_landing(landing: Path, relative: str, lines: list[dict[str, Any] | str]) -> Path:
    """Write events (dicts, or raw strings for malformed lines) as .jsonl, .jsonl.gz or .parquet."""
    path = landing / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if relative.endswith(".parquet"):
        rows = [{**e, "data": json.dumps(e["data"])} for e in lines if isinstance(e, dict)]
        pl.DataFrame(rows).write_parquet(path)
        return path
    text = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n"
    if relative.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    path = tmp_path / "landing"
    path.mkdir()
    return path


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = connect(tmp_path / "warehouse.duckdb")
    yield connection
    connection.close()


@pytest.fixture(scope="session")
def repo_catalog() -> MetricCatalog:
    return load_catalog(REPO / "metric_defs")


def hour(text: str) -> datetime:
    """'2026-11-20 10:00' as a naive UTC datetime."""
    return datetime.fromisoformat(text)


@pytest.fixture
def small_landing(landing: Path) -> Path:
    """Three conversations over 09:00-11:00 on 2026-11-20: an offset, a superseding snapshot, a duplicate, a
    value out of range and a line without event_type."""
    write_landing(
        landing,
        "call_intelligence/2026/11/20.jsonl",
        [
            event("e1", "2026-11-20T10:05:00Z", id="c1", duration=120, quality_score=90, callbackRequired=True),
            event("e2", "2026-11-20T10:35:00+01:00", id="c2", duration=60, quality_score=70, callbackRequired=False),
            event("e3", "2026-11-20T11:15:00Z", id="c3", duration=30, quality_score=101, callbackRequired=True),
            event("e3", "2026-11-20T11:15:00Z", id="c3", duration=30, quality_score=101, callbackRequired=True),
            event("e4", "2026-11-20T11:20:00Z", id="c1", snapshot_version=2, duration=180, quality_score=50),
            '{"event_id": "bad", "source": "call_intelligence"}',
        ],
    )
    return landing
