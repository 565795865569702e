"""Fixtures of the webhook tests (loaded with ``pytest_plugins = ["tests.webhook_fixtures"]``): the world of
tests/webhook_helpers.py on a tmp_path warehouse, and a stubbed resolver."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from metricstore.catalog_loader import load_catalog
from tests.conftest import REPO
from tests.webhook_helpers import CUSTOM, SECRET, WS, HookWorld
from tests.webhook_receiver import WebhookReceiver


@pytest.fixture
def world(tmp_path: Path, conn: duckdb.DuckDBPyConnection, landing: Path) -> HookWorld:
    defs = tmp_path / "defs"
    (defs / "builtin").mkdir(parents=True)
    shutil.copy(REPO / "metric_defs" / "builtin" / "post_call.yaml", defs / "builtin" / "post_call.yaml")
    (defs / "workspaces" / WS).mkdir(parents=True)
    (defs / "workspaces" / WS / "custom.yaml").write_text(yaml.safe_dump({"metrics": CUSTOM}))
    return HookWorld(conn=conn, defs=defs, landing=landing, catalog=load_catalog(defs))


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    """A receiver on 127.0.0.1 that verifies with the world's secret (200 until told otherwise)."""
    with WebhookReceiver(SECRET) as running:
        yield running


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, list[str]]]:
    """A stubbed DNS: names the test maps resolve to the addresses it gives; IP literals resolve to themselves;
    any other name fails as an unknown host. Nothing is looked up for real."""
    names: dict[str, list[str]] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name in names:
            return [
                (socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, int(port or 0)))
                for ip in names[name]
            ]
        try:
            socket.inet_pton(socket.AF_INET6 if ":" in name else socket.AF_INET, name)
        except OSError:
            raise socket.gaierror(socket.EAI_NONAME, f"{name}: unknown to the test's resolver") from None
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield names
