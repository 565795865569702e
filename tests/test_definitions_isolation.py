"""One workspace's invalid definitions harm only themselves: the run computes every valid definition of every
workspace, reports the refused ones (metadata and a failed, non-blocking check) and fails only for built-ins."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from dagster import materialize

from assets.ingestion import landed_events
from assets.metrics import metric_aggregates, metric_values
from assets.resources import MetricStoreResource
from metricstore.api.cache import CatalogCache
from metricstore.catalog_loader import DefinitionsInvalid, load_catalog
from tests.conftest import DOCS_METRIC, REPO, event, write_landing

PARTITION = "2026-11-20-10:00"


def _write(root: Path, rel: str, content: Any) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False))


def _static(key: str, path: str, **fields: Any) -> dict[str, Any]:
    base = {"key": key, "name": key, "metric_type": "numerical", "extraction_mode": "static", "extract_path": path}
    return base | {"aggregation": "sum"} | fields


@pytest.fixture
def defs(tmp_path: Path) -> Path:
    """Repo built-ins; ws_good valid; ws_bad with a broken file, an invalid definition, a ratio reading it and a
    valid metric."""
    root = tmp_path / "defs"
    shutil.copytree(REPO / "metric_defs" / "builtin", root / "builtin")
    _write(root, "workspaces/ws_good/metrics.yaml", DOCS_METRIC)
    _write(root, "workspaces/ws_bad/broken.yaml", "metrics: [\n")
    _write(
        root,
        "workspaces/ws_bad/metrics.yaml",
        {
            "metrics": [
                _static("bad_total", "$.duration", aggregation="rate"),
                {
                    "key": "bad_share",
                    "name": "Share",
                    "metric_type": "numerical",
                    "aggregation": "ratio",
                    "ratio_of": {"numerator": "bad_total", "denominator": "still_fine"},
                },
                _static("still_fine", "$.duration"),
            ]
        },
    )
    return root


def test_load_catalog_keeps_valid_workspaces_and_reports_the_invalid(defs: Path) -> None:
    catalog = load_catalog(defs)
    assert [d.definition.key for d in catalog.custom["ws_good"]] == ["docs_quality"]
    assert [d.definition.key for d in catalog.custom["ws_bad"]] == ["still_fine"]
    assert sorted(catalog.refused) == ["ws_bad"]
    located = [(Path(e.file).name, e.key, e.field) for _, e in catalog.refusals]
    assert located == [
        ("broken.yaml", "-", "-"),
        ("metrics.yaml", "bad_total", "aggregation"),
        ("metrics.yaml", "bad_share", "ratio_of.numerator"),
    ]
    ratio_error = catalog.refusals[2][1]
    assert ratio_error.message == "'bad_total' is refused (see its own errors), so this ratio cannot be computed"
    # the API's cache reads the same entry point: it serves ws_good and ws_bad's valid part
    served = CatalogCache(defs).current()
    assert [d.definition.key for d in served.custom["ws_good"]] == ["docs_quality"]
    assert "still_fine" in {d.definition.key for d in served.definitions_for("ws_bad")}


def test_an_invalid_builtin_still_fails_everything(defs: Path) -> None:
    _write(defs, "builtin/zz.yaml", _static("Bad", "$.x"))
    with pytest.raises(DefinitionsInvalid) as raised:
        load_catalog(defs)
    assert [(Path(e.file).name, e.key, e.field) for e in raised.value.errors] == [("zz.yaml", "Bad", "key")]


def test_invalid_workspace_next_to_a_valid_one(defs: Path, tmp_path: Path, landing: Path) -> None:
    lines = [
        event("g1", "2026-11-20T10:05:00Z", workspace_id="ws_good", id="c1", duration=100, quality_score=80),
        event("g2", "2026-11-20T10:25:00Z", workspace_id="ws_good", id="c2", duration=300, quality_score=60),
        event("b1", "2026-11-20T10:30:00Z", workspace_id="ws_bad", id="c3", duration=40, quality_score=10),
        event("b2", "2026-11-20T10:35:00Z", workspace_id="ws_bad", id="c4", duration=2, quality_score=20),
    ]
    write_landing(landing, "call_intelligence/a.jsonl", lines)
    resource = MetricStoreResource(warehouse=str(tmp_path / "wh.duckdb"), landing=str(landing), metric_defs=str(defs))
    result = materialize(
        [landed_events, metric_values, metric_aggregates], partition_key=PARTITION, resources={"metricstore": resource}
    )
    assert result.success
    with duckdb.connect(resource.warehouse, read_only=True) as conn:
        rows = conn.execute(
            "SELECT workspace_id, metric_key, value, sample_count FROM metrics.metric_aggregates "
            "WHERE granularity = 'hourly' AND metric_key IN ('docs_quality', 'still_fine', 'bad_total', "
            "'bad_share', 'avg_call_duration') ORDER BY ALL"
        ).fetchall()
    assert rows == [
        ("ws_bad", "avg_call_duration", 21.0, 2),
        ("ws_bad", "still_fine", 42.0, 2),
        ("ws_good", "avg_call_duration", 200.0, 2),
        ("ws_good", "docs_quality", 70.0, 2),
    ]
    metadata = result.asset_materializations_for_node("metrics__metric_values")[0].metadata
    assert metadata["definitions_refused"].value == 3
    assert metadata["workspaces_with_refused_definitions"].value == ["ws_bad"]
    (check,) = [c for c in result.get_asset_check_evaluations() if c.check_name == "custom_definitions_valid"]
    assert not check.passed
    assert check.metadata["definitions_refused"].value == 3
    assert check.description is not None
    assert "ws_bad: " in check.description and "bad_total: aggregation: 'rate' does not apply" in check.description
    assert "broken.yaml: -: -: not valid YAML" in check.description
