"""Settings read from the environment (CONTRACT §2), resolved once per call, never at import time."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    """Where the warehouse, the landing folder and the metric definitions live."""

    warehouse: Path
    landing: Path
    metric_defs: Path

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            warehouse=Path(os.environ.get("METRICSTORE_WAREHOUSE", "data/warehouse.duckdb")),
            landing=Path(os.environ.get("METRICSTORE_LANDING", "data/landing")),
            metric_defs=Path(os.environ.get("METRICSTORE_METRIC_DEFS", "metric_defs")),
        )
