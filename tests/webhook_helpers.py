"""The webhook tests' world: a warehouse and a definitions folder with one workspace whose webhook the test
points where it likes, and conversations landed hour by hour (static values extracted, AI values evaluated)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import yaml

from metricstore.catalog_loader import MetricCatalog, load_catalog
from metricstore.evaluation.run import evaluate_window
from metricstore.extract import extract_window
from metricstore.ingest import ingest_window
from metricstore.windows import TimeWindow
from tests.conftest import DOCS_METRIC, event, hour, write_landing

WS = "ws_hooks"
SECRET = "whsec_" + base64.b64encode(b"metricstore-webhook-tests-secret!").decode()
H10 = TimeWindow(hour("2026-11-20 10:00"), hour("2026-11-20 11:00"))
CONVERSATIONS = 6
TOPIC = {
    "key": "topic",
    "name": "Topic",
    "description": "What the call was about.",
    "metric_type": "categorical",
    "extraction_mode": "ai_classify",
    "model_tier": "free",
    "ai_labels": ["billing", "delivery", "other"],
    "aggregation": "count",
}
CUSTOM = [{**DOCS_METRIC, "is_required": True}, TOPIC]


@dataclass
class HookWorld:
    """The warehouse, its definitions folder and catalog, and the hour that was run."""

    conn: duckdb.DuckDBPyConnection
    defs: Path
    landing: Path
    catalog: MetricCatalog

    def configure(self, **webhook: Any) -> MetricCatalog:
        """Write the workspace's `webhook:` block (None removes it) and reload the catalog."""
        settings: dict[str, Any] = {"default_metrics_enabled": True}
        if webhook:
            settings["webhook"] = {"secret": SECRET, **webhook}
        (self.defs / "workspaces" / WS / "workspace.yaml").write_text(yaml.safe_dump(settings))
        self.catalog = load_catalog(self.defs)
        assert not self.catalog.refused, self.catalog.refused
        return self.catalog

    def land(self, relative: str, events: list[dict[str, Any]], window: TimeWindow = H10) -> None:
        """Land events and run the hour's static and AI steps."""
        write_landing(self.landing, relative, events)
        ingest_window(self.conn, self.landing, window)
        extract_window(self.conn, self.catalog, window)
        evaluate_window(self.conn, self.catalog, window)

    def rows(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        return self.conn.execute(sql, params).fetchall()


def calls(n: int = CONVERSATIONS, *, minute: int = 0, **data: Any) -> list[dict[str, Any]]:
    return [
        event(
            f"e{i}",
            f"2026-11-20T10:{minute + i:02d}:00Z",
            workspace_id=WS,
            id=f"call-{i}",
            status="completed",
            quality_score=70 + i,
            transcription=[
                {"role": "assistant", "content": "Hello, how can I help?"},
                {"role": "user", "content": "I have a billing question: my bill charged me twice."},
            ],
            **data,
        )
        for i in range(n)
    ]
