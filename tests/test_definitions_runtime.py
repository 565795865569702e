"""One metric that fails at run time fails alone: a prompt that does not render for a conversation is an error
for that metric and conversation (the call asks the others), a static metric whose SQL fails on the window's
data has no values for it (the others are written)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import duckdb
import pytest
import yaml

from metricstore.catalog import write_catalog_table
from metricstore.catalog_loader import MetricCatalog, load_catalog
from metricstore.evaluation.run import evaluate_window
from metricstore.extract import MetricFailure, extract_window
from metricstore.ingest import ingest_window
from metricstore.testing import FakeClaude
from metricstore.windows import TimeWindow
from tests.conftest import REPO, event, hour, write_landing

H12 = TimeWindow(hour("2026-11-20 12:00"), hour("2026-11-20 13:00"))

SATISFACTION = {
    "key": "satisfaction",
    "name": "Customer satisfaction",
    "metric_type": "numerical",
    "extraction_mode": "ai_query",
    "model_tier": "fast",
    "ai_query_prompt": "Rate the customer's satisfaction 1-10 in {{ transcript }}.",
    "aggregation": "avg",
}
# Renders on the sample conversation (it has a contactName), not on conversations without one.
GREETING = {
    "key": "greeting_used",
    "name": "Greeting used",
    "metric_type": "boolean",
    "extraction_mode": "ai_query",
    "model_tier": "fast",
    "ai_query_prompt": "Did the agent greet {{ call.contactName }} by name?",
    "aggregation": "rate",
}


def _defs(root: Path, files: dict[str, Any]) -> MetricCatalog:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(content))
    (root / "builtin").mkdir(parents=True, exist_ok=True)
    return load_catalog(root)


@pytest.fixture
def fake() -> Iterator[FakeClaude]:
    with FakeClaude() as server:
        yield server


def _conversations(landing: Path, workspace_id: str, count: int) -> None:
    lines = [
        event(
            f"{workspace_id}_e{i}",
            f"2026-11-20T12:{10 + i:02d}:00Z",
            workspace_id=workspace_id,
            id=f"{workspace_id}_c{i}",
            transcription=[{"role": "user", "content": f"My order {i} arrived broken"}],
            summary="Broken order",
            status="completed",
            duration=60 * (i + 1),
        )
        for i in range(count)
    ]
    write_landing(landing, f"call_intelligence/{workspace_id}.jsonl", lines)


def test_a_prompt_that_fails_to_render_fails_only_its_metric(
    conn: duckdb.DuckDBPyConnection, landing: Path, tmp_path: Path, fake: FakeClaude
) -> None:
    catalog = _defs(
        tmp_path / "defs",
        {
            "workspaces/ws_a/ai.yaml": {"metrics": [SATISFACTION, GREETING]},
            "workspaces/ws_b/ai.yaml": {"metrics": [SATISFACTION]},
        },
    )
    assert catalog.refused == {}  # validation renders it on the sample conversation, which has a contactName
    _conversations(landing, "ws_a", 3)
    _conversations(landing, "ws_b", 2)
    write_catalog_table(conn, catalog)
    ingest_window(conn, landing, H12)
    extract_window(conn, catalog, H12)
    client = lambda: anthropic.AsyncAnthropic(base_url=fake.base_url, api_key="k", max_retries=0)  # noqa: E731
    result = evaluate_window(conn, catalog, H12, client_factory=client, run_id="r1")
    # one call per conversation, none asking the metric whose prompt does not render
    assert (result.calls, result.evaluated, result.failures) == (5, 5, 3)
    asked = [sorted(r.body["output_config"]["format"]["schema"]["properties"]) for r in fake.message_requests]
    assert asked == [["satisfaction"]] * 5
    assert all(
        "greeting_used / ws_a_c" in e and "'dict object' has no attribute 'contactName'" in e for e in result.errors
    )
    rows = conn.execute(
        "SELECT workspace_id, metric_key, count(*) FROM metrics.metric_values WHERE model IS NOT NULL "
        "GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    assert rows == [("ws_a", "satisfaction", 3), ("ws_b", "satisfaction", 2)]
    # no model call is bought for it on the next run either; it stays pending until its prompt or data changes
    again = evaluate_window(conn, catalog, H12, client_factory=client, run_id="r2")
    assert (again.calls, again.failures) == (0, 3)


def test_a_metric_whose_sql_fails_on_the_data_fails_alone(
    conn: duckdb.DuckDBPyConnection, landing: Path, tmp_path: Path
) -> None:
    root = tmp_path / "defs"
    shutil.copytree(REPO / "metric_defs" / "builtin", root / "builtin")
    broken = {
        "key": "status_code",
        "name": "Status as a number",
        "metric_type": "numerical",
        "extraction_mode": "sql_expr",
        "sql_expr": "CAST(data ->> 'status' AS INTEGER)",  # 'completed' is no integer: a conversion error
        "aggregation": "sum",
    }
    catalog = _defs(
        root,
        {
            "builtin/zz_broken.yaml": broken,
            "workspaces/ws_a/m.yaml": {
                "key": "talk",
                "name": "Talk",
                "metric_type": "numerical",
                "extraction_mode": "static",
                "extract_path": "$.duration",
                "aggregation": "sum",
            },
        },
    )
    _conversations(landing, "ws_a", 3)
    _conversations(landing, "ws_b", 2)
    ingest_window(conn, landing, H12)
    result = extract_window(conn, catalog, H12)
    assert sorted(result.failed_metrics, key=lambda f: f.workspace_id) == [
        MetricFailure("ws_a", "status_code", result.failed_metrics[0].reason),
        MetricFailure("ws_b", "status_code", result.failed_metrics[0].reason),
    ]
    assert "Conversion Error" in result.failed_metrics[0].reason and "completed" in result.failed_metrics[0].reason
    assert "status_code" not in result.values_by_metric
    sums = conn.execute(
        "SELECT workspace_id, metric_key, sum(value_num) FROM metrics.metric_values "
        "WHERE metric_key IN ('talk', 'total_talk_time', 'status_code') GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    assert sums == [("ws_a", "talk", 360.0), ("ws_a", "total_talk_time", 360.0), ("ws_b", "total_talk_time", 180.0)]
