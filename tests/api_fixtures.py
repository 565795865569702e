"""Fixtures of the API, key and settings tests (loaded with ``pytest_plugins = ["tests.api_fixtures"]``): a
small published warehouse built once per session, settings pointing at it and at a fresh definitions folder,
the key store and an in-process client."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from metricstore.aggregate import aggregate_window
from metricstore.api.keys import KeyStore
from metricstore.catalog import write_catalog_table
from metricstore.catalog_loader import load_catalog
from metricstore.config import Settings
from metricstore.extract import extract_window
from metricstore.ingest import ingest_window
from metricstore.warehouse import connect
from metricstore.windows import TimeWindow
from tests.api_helpers import CALL_ID, client_for, conversation, write_defs
from tests.conftest import write_landing


@pytest.fixture(scope="session")
def published_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse with two hours of the demo workspace, ingested, extracted and aggregated: it has the
    relations of the published one."""
    root = tmp_path_factory.mktemp("published")
    landing = root / "landing"
    write_landing(
        landing,
        "call_intelligence/a.jsonl",
        [
            conversation("e1", "2026-11-20T10:05:00Z", CALL_ID, 80),
            conversation("e2", "2026-11-20T10:35:00Z", "call_2", 60, is_simulation=True),
            conversation("e3", "2026-11-20T11:15:00Z", "call_3", 90),
        ],
    )
    catalog = load_catalog(write_defs(root / "defs"))
    window = TimeWindow(datetime(2026, 11, 20, 10), datetime(2026, 11, 20, 12))
    path = root / "warehouse.duckdb"
    with connect(path) as conn:
        ingest_window(conn, landing, window)
        extract_window(conn, catalog, window)
        aggregate_window(conn, catalog, window)
        write_catalog_table(conn, catalog)
    return path


@pytest.fixture
def api_settings(tmp_path: Path, published_warehouse: Path) -> Settings:
    return Settings(
        warehouse=tmp_path / "warehouse.duckdb",
        landing=tmp_path / "landing",
        metric_defs=write_defs(tmp_path / "defs"),
        published=published_warehouse,
        api_keys=tmp_path / "api_keys.sqlite",
    )


@pytest.fixture
def keys(api_settings: Settings) -> KeyStore:
    return KeyStore(api_settings.api_keys)


@pytest.fixture
def client(api_settings: Settings) -> Iterator[TestClient]:
    with client_for(api_settings) as test_client:
        yield test_client
