"""Asset tests: each layer materialized for a partition on a tmp_path warehouse, checks included."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from dagster import AssetKey, DagsterInstance, materialize

from assets.ingestion import landed_events
from assets.metrics import metric_aggregates, metric_values
from assets.resources import MetricStoreResource
from tests.conftest import REPO, event, write_landing

ALL_ASSETS = [landed_events, metric_values, metric_aggregates]
PARTITION = "2026-11-20-10:00"


@pytest.fixture
def resource(tmp_path: Path, landing: Path) -> MetricStoreResource:
    write_landing(
        landing,
        "call_intelligence/a.jsonl",
        [
            event("e1", "2026-11-20T10:05:00Z", id="c1", duration=100, quality_score=80, status="completed"),
            event("e2", "2026-11-20T10:25:00Z", id="c2", duration=300, quality_score=60, status="escalated"),
            event("e3", "2026-11-20T10:40:00Z", id="c3", duration=200, is_simulation=True),
            "{broken",
            event("e4", "2026-11-20T11:10:00Z", id="c4", duration=50),
        ],
    )
    write_landing(
        landing,
        "connector_events/b.jsonl",
        [event("k1", "2026-11-20T10:30:00Z", source="connector_events", channel="text", status="error", latency_ms=40)],
    )
    return MetricStoreResource(
        warehouse=str(tmp_path / "wh.duckdb"), landing=str(landing), metric_defs=str(REPO / "metric_defs")
    )


def _query(resource: MetricStoreResource, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(resource.warehouse, read_only=True) as conn:
        return conn.execute(sql).fetchall()


def test_ingestion_layer(resource: MetricStoreResource) -> None:
    result = materialize([landed_events], partition_key=PARTITION, resources={"metricstore": resource})
    assert result.success
    metadata = result.asset_materializations_for_node("raw__events")[0].metadata
    assert metadata["events_ingested"].value == 4
    assert metadata["quarantined_lines"].value == 1
    assert _query(resource, "SELECT event_id FROM raw.events ORDER BY 1") == [("e1",), ("e2",), ("e3",), ("k1",)]
    checks = result.get_asset_check_evaluations()
    assert [(c.check_name, c.passed) for c in checks] == [("event_ids_unique", True)]


def test_values_layer(resource: MetricStoreResource) -> None:
    result = materialize(
        [landed_events, metric_values],
        partition_key=PARTITION,
        resources={"metricstore": resource},
    )
    assert result.success
    metadata = result.asset_materializations_for_node("metrics__metric_values")[0].metadata
    assert metadata["entities"].value == 4
    rows = _query(
        resource,
        "SELECT entity_id, value_num, source FROM metrics.metric_values WHERE metric_key = 'total_talk_time' "
        "ORDER BY entity_id",
    )
    assert rows == [("c1", 100.0, "production"), ("c2", 300.0, "production"), ("c3", 200.0, "simulation")]
    assert _query(resource, "SELECT count(*) FROM metrics.metric_catalog WHERE builtin") == [(42,)]
    assert {(c.check_name, c.passed) for c in result.get_asset_check_evaluations()} == {
        ("event_ids_unique", True),
        ("one_value_per_entity", True),
        ("required_metrics_present", True),
        ("custom_definitions_valid", True),
        ("metric_sql_ran", True),
    }


def test_aggregates_layer(resource: MetricStoreResource) -> None:
    result = materialize(ALL_ASSETS, partition_key=PARTITION, resources={"metricstore": resource})
    assert result.success
    rows = _query(
        resource,
        "SELECT metric_key, granularity, source, value, sample_count FROM metrics.metric_aggregates "
        "WHERE metric_key IN ('call_volume', 'avg_call_duration', 'escalation_rate', 'connector_error_rate') "
        "ORDER BY ALL",
    )
    assert rows == [
        ("avg_call_duration", "daily", "production", 200.0, 2),
        ("avg_call_duration", "daily", "simulation", 200.0, 1),
        ("avg_call_duration", "hourly", "production", 200.0, 2),
        ("avg_call_duration", "hourly", "simulation", 200.0, 1),
        ("call_volume", "daily", "production", 2.0, 2),
        ("call_volume", "daily", "simulation", 1.0, 1),
        ("call_volume", "hourly", "production", 2.0, 2),
        ("call_volume", "hourly", "simulation", 1.0, 1),
        ("connector_error_rate", "daily", "production", 1.0, 1),
        ("connector_error_rate", "hourly", "production", 1.0, 1),
        ("escalation_rate", "daily", "production", 0.5, 2),
        ("escalation_rate", "hourly", "production", 0.5, 2),
    ]


def test_range_run_covers_every_hour(resource: MetricStoreResource) -> None:
    instance = DagsterInstance.ephemeral()
    result = materialize(
        ALL_ASSETS,
        instance=instance,
        tags={
            "dagster/asset_partition_range_start": "2026-11-20-10:00",
            "dagster/asset_partition_range_end": "2026-11-20-11:00",
        },
        resources={"metricstore": resource},
    )
    assert result.success
    rows = _query(
        resource,
        "SELECT period_start::VARCHAR, value FROM metrics.metric_aggregates WHERE metric_key = 'call_volume' "
        "AND granularity = 'hourly' AND source = 'production' ORDER BY 1",
    )
    assert rows == [("2026-11-20 10:00:00", 2.0), ("2026-11-20 11:00:00", 1.0)]


def test_blocking_check_stops_aggregates(resource: MetricStoreResource, tmp_path: Path) -> None:
    defs_root = tmp_path / "defs"
    (defs_root / "builtin").mkdir(parents=True)
    (defs_root / "workspaces" / "ws_test").mkdir(parents=True)
    (defs_root / "workspaces" / "ws_test" / "m.yaml").write_text(
        "key: agent_name\nname: Agent name\nmetric_type: text\nextraction_mode: static\n"
        "extract_path: $.agentName\nis_required: true\n"
    )
    broken = MetricStoreResource(warehouse=resource.warehouse, landing=resource.landing, metric_defs=str(defs_root))
    result = materialize(ALL_ASSETS, partition_key=PARTITION, resources={"metricstore": broken}, raise_on_error=False)
    evaluations = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert not evaluations["required_metrics_present"].passed
    assert evaluations["required_metrics_present"].metadata["missing_required_values"].value == 3
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert AssetKey(["metrics", "metric_values"]) in materialized
    assert AssetKey(["metrics", "metric_aggregates"]) not in materialized
