"""Publishing: readers open a snapshot that holds whole runs, is rewritten only where a run changed it, and
survives a crash at any step."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest
from dagster import materialize

from assets.ingestion import landed_events
from assets.metrics import metric_aggregates, metric_values
from assets.resources import MetricStoreResource
from assets.serving import published_warehouse
from metricstore import published as published_module
from metricstore.config import Settings
from metricstore.published import NotPublishedError, open_published, parts_folder, publish
from tests.conftest import REPO, event, write_landing

ASSETS = [landed_events, metric_values, metric_aggregates, published_warehouse]


@pytest.fixture
def resource(tmp_path: Path, landing: Path) -> MetricStoreResource:
    write_landing(
        landing,
        "call_intelligence/a.jsonl",
        [
            event("e1", "2026-11-20T10:05:00Z", id="c1", duration=100, status="completed", summary="first"),
            event("e2", "2026-11-20T10:25:00Z", id="c2", duration=300, status="escalated"),
            event("e3", "2026-11-20T11:40:00Z", id="c3", duration=200, is_simulation=True),
            event("e4", "2026-11-21T09:10:00Z", id="c4", duration=50),
            # a later snapshot of c1, on the next day: c1 leaves 2026-11-20
            event("e5", "2026-11-21T09:20:00Z", id="c1", duration=120, status="completed", summary="second"),
        ],
    )
    return MetricStoreResource(
        warehouse=str(tmp_path / "wh.duckdb"),
        landing=str(landing),
        metric_defs=str(REPO / "metric_defs"),
        published=str(tmp_path / "published" / "wh.duckdb"),
    )


def _run(resource: MetricStoreResource, partition: str) -> dict[str, Any]:
    result = materialize(ASSETS, partition_key=partition, resources={"metricstore": resource})
    assert result.success
    metadata = result.asset_materializations_for_node("serving__published_warehouse")[0].metadata
    return {k: getattr(v, "value", v) for k, v in metadata.items()}


def _rows(path: str, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(path, read_only=True) as conn:
        return conn.execute(sql).fetchall()


VALUES_SQL = (
    "SELECT workspace_id, metric_key, entity_id, value_num, value_text, status::VARCHAR, definition_version "
    "FROM metrics.metric_values ORDER BY ALL"
)
AGGREGATES_SQL = (
    "SELECT metric_key, granularity, period_start, source, value, sample_count FROM metrics.metric_aggregates "
    "ORDER BY ALL"
)
CONVERSATIONS_SQL = (
    "SELECT workspace_id, conversation_id, event_id, data->>'summary' FROM raw.conversations ORDER BY ALL"
)


def test_snapshot_equals_the_warehouse(resource: MetricStoreResource) -> None:
    _run(resource, "2026-11-20-10:00")
    _run(resource, "2026-11-20-11:00")
    for sql in (VALUES_SQL, AGGREGATES_SQL, CONVERSATIONS_SQL, "SELECT * FROM metrics.metric_latest ORDER BY ALL"):
        assert _rows(resource.published, sql) == _rows(resource.warehouse, sql)
    assert _rows(resource.published, "SELECT count(*) FROM metrics.metric_catalog WHERE builtin") == [(42,)]
    # the post-call fields come with the conversation
    assert _rows(resource.published, "SELECT data->>'summary' FROM raw.conversations WHERE conversation_id = 'c1'") == [
        ("first",)
    ]


def test_a_run_rewrites_only_the_days_it_changed(resource: MetricStoreResource) -> None:
    first = _run(resource, "2026-11-20-10:00")
    assert first["days_republished"] == 1
    second = _run(resource, "2026-11-20-11:00")
    assert second["days_republished"] == 1  # the same day again, nothing else
    parts = parts_folder(Path(resource.published))
    before = sorted(p.name for p in parts.rglob("*.parquet"))
    third = _run(resource, "2026-11-21-09:00")
    # 2026-11-21 is new, and 2026-11-20 changed: c1's later snapshot moved its values out of it
    assert third["days_republished"] == 2
    assert _rows(resource.published, CONVERSATIONS_SQL) == _rows(resource.warehouse, CONVERSATIONS_SQL)
    assert _rows(resource.published, "SELECT data->>'summary' FROM raw.conversations WHERE conversation_id = 'c1'") == [
        ("second",)
    ]
    assert _rows(resource.published, VALUES_SQL) == _rows(resource.warehouse, VALUES_SQL)
    # superseded parts stay on disk for readers of older snapshots, within the grace period
    after = sorted(p.name for p in parts.rglob("*.parquet"))
    assert set(before) <= set(after)
    assert len(after) > len(before)


def test_superseded_parts_are_deleted_after_the_grace_period(
    resource: MetricStoreResource, monkeypatch: pytest.MonkeyPatch
) -> None:
    _run(resource, "2026-11-20-10:00")
    _run(resource, "2026-11-20-11:00")
    monkeypatch.setattr(published_module, "GRACE", published_module.GRACE * 0 - published_module.GRACE)
    _run(resource, "2026-11-20-11:00")
    parts = parts_folder(Path(resource.published))
    with duckdb.connect(resource.warehouse, read_only=True) as conn:
        current = {
            r[0] for r in conn.execute("SELECT path FROM ops.published_parts WHERE superseded_at IS NULL").fetchall()
        }
        assert conn.execute("SELECT count(*) FROM ops.published_parts WHERE superseded_at IS NOT NULL").fetchall() == [
            (0,)
        ]
    assert {str(p) for p in parts.rglob("*.parquet")} == current - {None}


def test_an_open_reader_keeps_its_snapshot(resource: MetricStoreResource) -> None:
    _run(resource, "2026-11-20-10:00")
    settings = resource.settings()
    reader = open_published(settings)
    before = reader.execute(VALUES_SQL).fetchall()
    _run(resource, "2026-11-20-11:00")
    assert reader.execute(VALUES_SQL).fetchall() == before  # the snapshot it opened, whole
    reader.close()
    with open_published(settings) as fresh:
        assert fresh.execute(VALUES_SQL).fetchall() == _rows(resource.warehouse, VALUES_SQL)
        assert fresh.execute(VALUES_SQL).fetchall() != before


def test_nothing_published_yet(tmp_path: Path) -> None:
    settings = Settings(
        tmp_path / "w.duckdb", tmp_path / "l", tmp_path / "d", tmp_path / "p" / "w.duckdb", tmp_path / "k.sqlite"
    )
    with pytest.raises(NotPublishedError, match="nothing published"):
        open_published(settings)


@pytest.mark.parametrize("crash_after_rename", [False, True])
def test_a_crash_while_publishing_loses_nothing(
    resource: MetricStoreResource, monkeypatch: pytest.MonkeyPatch, crash_after_rename: bool
) -> None:
    _run(resource, "2026-11-20-10:00")
    published = Path(resource.published)
    old = _rows(resource.published, VALUES_SQL)
    materialize(ASSETS[:-1], partition_key="2026-11-20-11:00", resources={"metricstore": resource})
    real_replace = published_module._replace

    def crash(tmp: Path, target: Path) -> None:
        if crash_after_rename:
            real_replace(tmp, target)
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(published_module, "_replace", crash)
    with duckdb.connect(resource.warehouse) as conn, pytest.raises(KeyboardInterrupt):
        publish(conn, published)
    seen = _rows(resource.published, VALUES_SQL)
    assert seen == (_rows(resource.warehouse, VALUES_SQL) if crash_after_rename else old)  # one run or the other
    monkeypatch.setattr(published_module, "_replace", real_replace)
    with duckdb.connect(resource.warehouse) as conn:
        assert conn.execute("SELECT count(*) FROM ops.publish_pending").fetchall() == [(1,)]  # still to publish
        publish(conn, published)
        assert conn.execute("SELECT count(*) FROM ops.publish_pending").fetchall() == [(0,)]
    assert _rows(resource.published, VALUES_SQL) == _rows(resource.warehouse, VALUES_SQL)
    assert _rows(resource.published, AGGREGATES_SQL) == _rows(resource.warehouse, AGGREGATES_SQL)


def test_a_warehouse_named_like_a_file_not_an_identifier_publishes(tmp_path: Path, landing: Path) -> None:
    write_landing(landing, "call_intelligence/a.jsonl", [event("e1", "2026-11-20T10:05:00Z", id="c1", duration=7)])
    resource = MetricStoreResource(
        warehouse=str(tmp_path / "my warehouse-2.duckdb"),
        landing=str(landing),
        metric_defs=str(REPO / "metric_defs"),
        published=str(tmp_path / "published" / "wh.duckdb"),
    )
    assert _run(resource, "2026-11-20-10:00")["days_republished"] == 1
    sql = "SELECT value_num FROM metrics.metric_values WHERE metric_key = 'total_talk_time'"
    assert _rows(resource.published, sql) == [(7.0,)]
