"""Settings read from the environment (CONTRACT §2), resolved once per call, never at import time."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    """Where the warehouse, the landing folder and the metric definitions live, and where readers read.

    ``published`` is the read-only snapshot of the warehouse that the job publishes after each run: the API,
    ``metricstore query`` and analysts open it, never the warehouse the job writes (CONTRACT §5).
    ``api_keys`` is the SQLite file of the HTTP API's keys (a file of its own: usable while the job holds the
    warehouse's lock)."""

    warehouse: Path
    landing: Path
    metric_defs: Path
    published: Path
    api_keys: Path

    @classmethod
    def from_env(cls) -> Settings:
        warehouse = Path(os.environ.get("METRICSTORE_WAREHOUSE", "data/warehouse.duckdb"))
        return cls(
            warehouse=warehouse,
            landing=Path(os.environ.get("METRICSTORE_LANDING", "data/landing")),
            metric_defs=Path(os.environ.get("METRICSTORE_METRIC_DEFS", "metric_defs")),
            published=Path(os.environ.get("METRICSTORE_PUBLISHED") or published_beside(warehouse)),
            api_keys=Path(os.environ.get("METRICSTORE_API_KEYS") or api_keys_beside(warehouse)),
        )


def published_beside(warehouse: Path) -> Path:
    """The default published snapshot of a warehouse: ``<its folder>/published/<its name>``."""
    return warehouse.parent / "published" / warehouse.name


def api_keys_beside(warehouse: Path) -> Path:
    """The default API key store of a warehouse: ``<its folder>/api_keys.sqlite``."""
    return warehouse.parent / "api_keys.sqlite"
