"""The read side (metricstore.query): latest, values, trend and catalog over a warehouse with known rows."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from metricstore.catalog import write_catalog_table
from metricstore.catalog_loader import MetricCatalog, load_catalog
from metricstore.query import QueryError, catalog_entries, latest, trend, values
from tests.conftest import REPO

WS = "ws_test"

# Custom metrics that need no extract_path (AI metrics and a ratio): their values are inserted by the tests.
CUSTOM = [
    {
        "key": "csat",
        "name": "CSAT",
        "description": "Customer satisfaction, 1 to 5.",
        "metric_type": "numerical",
        "extraction_mode": "ai_query",
        "model_tier": "fast",
        "ai_query_prompt": "Rate the customer's satisfaction from 1 to 5.",
        "aggregation": "avg",
        "period_granularity": "daily",
        "unit": "points",
        "is_required": True,
    },
    {
        "key": "escalated",
        "name": "Escalated",
        "metric_type": "boolean",
        "extraction_mode": "ai_query",
        "model_tier": "fast",
        "ai_query_prompt": "Was the call escalated to a human?",
        "aggregation": "rate",
    },
    {
        "key": "topics",
        "name": "Topics",
        "metric_type": "list",
        "extraction_mode": "ai_classify",
        "ai_labels": ["billing", "shipping", "returns"],
        "aggregation": "count",
    },
    {
        "key": "retired",
        "name": "Retired",
        "metric_type": "categorical",
        "extraction_mode": "ai_classify",
        "ai_labels": ["a", "b"],
        "aggregation": "count",
        "active": False,
    },
]
OTHER_WS_CUSTOM = [{**CUSTOM[1], "key": "other_only", "name": "Other only"}]


def make_catalog(
    root: Path, *, defaults_enabled: bool = True, custom: list[dict[str, Any]] | None = None
) -> MetricCatalog:
    """The repo's post-call built-ins, ws_test's custom metrics (and settings) and one metric of ws_other."""
    (root / "builtin").mkdir(parents=True)
    shutil.copy(REPO / "metric_defs" / "builtin" / "post_call.yaml", root / "builtin" / "post_call.yaml")
    for ws, defs in {WS: CUSTOM if custom is None else custom, "ws_other": OTHER_WS_CUSTOM}.items():
        (root / "workspaces" / ws).mkdir(parents=True)
        (root / "workspaces" / ws / "custom.yaml").write_text(yaml.safe_dump({"metrics": defs}))
    settings = {"default_metrics_enabled": defaults_enabled}
    (root / "workspaces" / WS / "workspace.yaml").write_text(yaml.safe_dump(settings))
    return load_catalog(root)


@pytest.fixture
def catalog(tmp_path: Path) -> MetricCatalog:
    return make_catalog(tmp_path / "defs")


def add_aggregate(
    conn: duckdb.DuckDBPyConnection,
    key: str,
    granularity: str,
    period_start: str,
    value: float | None,
    sample_count: int,
    *,
    source: str = "production",
    workspace_id: str = WS,
) -> None:
    conn.execute(
        "INSERT INTO metrics.metric_aggregates VALUES (?, ?, ?, ?, ?, ?, ?, TIMESTAMP '2026-12-01 00:00:00')",
        [workspace_id, key, granularity, datetime.fromisoformat(period_start), source, value, sample_count],
    )


def add_value(
    conn: duckdb.DuckDBPyConnection,
    key: str,
    metric_type: str,
    entity_id: str,
    occurred_at: str,
    *,
    num: float | None = None,
    text: str | None = None,
    flag: bool | None = None,
    items: list[str] | None = None,
    status: str = "ok",
    version: str = "v1",
    evaluated_at: str = "2026-11-21 00:00",
    entity_type: str = "conversation",
    session_id: str | None = "s1",
    service_id: str | None = "svc",
    source: str = "production",
    workspace_id: str = WS,
) -> None:
    conn.execute(
        "INSERT INTO metrics.metric_values (workspace_id, metric_key, metric_type, entity_type, entity_id, session_id, "
        "service_id, channel, direction, source, occurred_at, value_num, value_text, value_bool, value_list, status, "
        "definition_version, evaluated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'voice', 'inbound', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            workspace_id,
            key,
            metric_type,
            entity_type,
            entity_id,
            session_id,
            service_id,
            source,
            datetime.fromisoformat(occurred_at),
            num,
            text,
            flag,
            items,
            status,
            version,
            datetime.fromisoformat(evaluated_at),
        ],
    )


def fill(conn: duckdb.DuckDBPyConnection, catalog: MetricCatalog) -> None:
    """Known aggregates: confidence hourly (its granularity) and daily; csat daily (its granularity) with newer
    hourly rows that must not win; simulation rows; another workspace; a key the workspace does not have."""
    write_catalog_table(conn, catalog)
    add_aggregate(conn, "confidence", "hourly", "2026-11-19 23:00", 0.1, 1)
    add_aggregate(conn, "confidence", "hourly", "2026-11-20 00:00", 0.2, 2)
    add_aggregate(conn, "confidence", "hourly", "2026-11-21 10:00", 0.3, 3)
    add_aggregate(conn, "confidence", "hourly", "2026-11-21 23:00", 0.4, 4)
    add_aggregate(conn, "confidence", "hourly", "2026-11-22 00:00", 0.5, 5)
    add_aggregate(conn, "confidence", "daily", "2026-11-22 00:00", 0.5, 5)
    add_aggregate(conn, "confidence", "hourly", "2026-11-22 05:00", 0.9, 1, source="simulation")
    add_aggregate(conn, "csat", "daily", "2026-11-18 00:00", 3.0, 4)
    add_aggregate(conn, "csat", "daily", "2026-11-20 00:00", 4.5, 2)
    add_aggregate(conn, "csat", "hourly", "2026-11-21 09:00", 1.0, 1)  # not csat's granularity
    add_aggregate(conn, "csat", "daily", "2026-11-24 00:00", 5.0, 1, workspace_id="ws_other")
    add_aggregate(conn, "other_only", "hourly", "2026-11-22 01:00", 1.0, 1)  # ws_other's metric, not ws_test's


def test_latest_aggregates_pick_the_newest_period_at_each_metrics_own_granularity(
    conn: duckdb.DuckDBPyConnection, catalog: MetricCatalog
) -> None:
    fill(conn, catalog)
    response = latest(conn, catalog, WS)
    got = {
        (a.metric_key, a.source): (a.granularity, a.period_start, a.value, a.sample_count) for a in response.aggregates
    }
    assert got == {
        ("confidence", "production"): ("hourly", datetime(2026, 11, 22, 0, tzinfo=UTC), 0.5, 5),
        ("confidence", "simulation"): ("hourly", datetime(2026, 11, 22, 5, tzinfo=UTC), 0.9, 1),
        ("csat", "production"): (
            "daily",
            datetime(2026, 11, 20, tzinfo=UTC),
            4.5,
            2,
        ),  # not ws_other's 11-24, not the hourly row
    }
    csat = next(a for a in response.aggregates if a.metric_key == "csat")
    assert (csat.name, csat.unit, csat.metric_type, csat.aggregation) == ("CSAT", "points", "numerical", "avg")
    assert response.entities == [] and response.scope == "aggregate"
    only_sim = latest(conn, catalog, WS, source="simulation")
    assert [(a.metric_key, a.source) for a in only_sim.aggregates] == [("confidence", "simulation")]


def test_latest_entity_values_are_typed_filtered_and_the_newest_evaluation_wins(
    conn: duckdb.DuckDBPyConnection, catalog: MetricCatalog
) -> None:
    fill(conn, catalog)
    add_value(conn, "csat", "numerical", "c1", "2026-11-20 10:00", num=2.0, evaluated_at="2026-11-20 11:00")
    add_value(
        conn, "csat", "numerical", "c1", "2026-11-20 10:00", num=4.0, version="v2", evaluated_at="2026-11-21 09:00"
    )
    add_value(conn, "escalated", "boolean", "c1", "2026-11-20 10:00", flag=False)
    add_value(conn, "topics", "list", "c2", "2026-11-20 12:00", items=["billing", "returns"], session_id="s2")
    add_value(conn, "summary", "text", "c2", "2026-11-20 12:00", text="Asked for a refund.", session_id="s2")
    add_value(conn, "csat", "numerical", "c3", "2026-11-20 13:00", num=9.0, status="out_of_range", service_id="svc2")
    add_value(conn, "csat", "numerical", "c9", "2026-11-20 13:00", num=1.0, workspace_id="ws_other")
    add_value(conn, "other_only", "boolean", "c1", "2026-11-20 10:00", flag=True)  # not a ws_test metric

    response = latest(conn, catalog, WS, scope="entity")
    assert response.aggregates == []
    got = {(e.entity_id, e.metric_key): (e.value, e.status, e.definition_version) for e in response.entities}
    assert got == {
        ("c1", "csat"): (4.0, "ok", "v2"),
        ("c1", "escalated"): (False, "ok", "v1"),
        ("c2", "topics"): (["billing", "returns"], "ok", "v1"),
        ("c2", "summary"): ("Asked for a refund.", "ok", "v1"),
        ("c3", "csat"): (9.0, "out_of_range", "v1"),
    }
    # newest entities first
    assert [e.entity_id for e in response.entities] == ["c3", "c2", "c2", "c1", "c1"]
    assert {e.entity_id for e in latest(conn, catalog, WS, scope="entity", session_id="s2").entities} == {"c2"}
    assert {e.entity_id for e in latest(conn, catalog, WS, scope="entity", service_id="svc2").entities} == {"c3"}
    by_id = latest(conn, catalog, WS, scope="entity", entity_id="c1", entity_type="conversation")
    assert sorted(e.metric_key for e in by_id.entities) == ["csat", "escalated"]
    assert latest(conn, catalog, WS, scope="entity", entity_type="event").entities == []
    assert latest(conn, catalog, WS, scope="entity", source="simulation").entities == []
    both = latest(conn, catalog, WS, scope="all", limit=2)
    assert len(both.aggregates) == 3 and len(both.entities) == 2 and both.entities_truncated
    assert not latest(conn, catalog, WS, scope="entity", limit=5).entities_truncated


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"scope": "everything"}, "scope must be one of aggregate, entity, all"),
        ({"source": "staging"}, "source must be one of production, simulation"),
        ({"entity_type": "call"}, "entity_type must be one of conversation, event"),
        ({"limit": 0}, "limit must be an integer from 1 to 10000"),
    ],
)
def test_latest_rejects_parameters_out_of_their_range(
    conn: duckdb.DuckDBPyConnection, catalog: MetricCatalog, params: dict[str, Any], message: str
) -> None:
    with pytest.raises(QueryError) as caught:
        latest(conn, catalog, WS, **params)
    assert caught.value.kind == "invalid_parameter" and message in str(caught.value)


def test_values_are_the_series_at_the_metrics_granularity_with_inclusive_days_and_a_limit(
    conn: duckdb.DuckDBPyConnection, catalog: MetricCatalog
) -> None:
    fill(conn, catalog)
    everything = values(conn, catalog, WS, "confidence")
    assert [(p.period_start.isoformat(), p.value) for p in everything.points] == [
        ("2026-11-22T00:00:00+00:00", 0.5),
        ("2026-11-21T23:00:00+00:00", 0.4),
        ("2026-11-21T10:00:00+00:00", 0.3),
        ("2026-11-20T00:00:00+00:00", 0.2),
        ("2026-11-19T23:00:00+00:00", 0.1),
    ]
    assert everything.granularity == "hourly" and everything.limit == 90
    # both days whole: 20 00:00 and 21 23:00 in, 19 23:00 and 22 00:00 out
    window = values(conn, catalog, WS, "confidence", date_from=date(2026, 11, 20), date_to=date(2026, 11, 21))
    assert [p.sample_count for p in window.points] == [4, 3, 2]
    assert [p.value for p in values(conn, catalog, WS, "confidence", limit=2).points] == [0.5, 0.4]
    assert [p.value for p in values(conn, catalog, WS, "confidence", date_to=date(2026, 11, 19)).points] == [0.1]
    assert [p.value for p in values(conn, catalog, WS, "confidence", date_from=date(2026, 11, 22)).points] == [0.5]
    daily = values(conn, catalog, WS, "csat")
    assert daily.granularity == "daily" and [p.value for p in daily.points] == [4.5, 3.0]
    simulated = values(conn, catalog, WS, "confidence", source="simulation")
    assert [p.value for p in simulated.points] == [0.9]
    assert values(conn, catalog, WS, "escalated").points == []


@pytest.mark.parametrize(
    ("key", "params", "kind"),
    [
        ("nope", {}, "unknown_metric"),
        ("other_only", {}, "unknown_metric"),  # ws_other's custom metric
        ("confidence", {"limit": 0}, "invalid_parameter"),
        ("confidence", {"limit": 366}, "invalid_parameter"),
        ("confidence", {"source": "both"}, "invalid_parameter"),
        ("confidence", {"date_from": date(2026, 11, 22), "date_to": date(2026, 11, 21)}, "invalid_parameter"),
    ],
)
def test_values_errors(
    conn: duckdb.DuckDBPyConnection, catalog: MetricCatalog, key: str, params: dict[str, Any], kind: str
) -> None:
    with pytest.raises(QueryError) as caught:
        values(conn, catalog, WS, key, **params)
    assert caught.value.kind == kind


def test_values_accept_the_limits_of_the_range(conn: duckdb.DuckDBPyConnection, catalog: MetricCatalog) -> None:
    fill(conn, catalog)
    assert len(values(conn, catalog, WS, "confidence", limit=1).points) == 1
    assert len(values(conn, catalog, WS, "confidence", limit=365).points) == 5


def test_trend_ends_at_the_newest_published_day_and_fills_the_gaps(
    conn: duckdb.DuckDBPyConnection, catalog: MetricCatalog
) -> None:
    fill(conn, catalog)
    # the workspace's newest daily aggregate is confidence's on 11-22 (ws_other's 11-24 does not count)
    response = trend(conn, catalog, WS, "csat", days=5)
    assert (response.start_day, response.end_day) == (date(2026, 11, 18), date(2026, 11, 22))
    assert [(p.day.day, p.value, p.sample_count) for p in response.points] == [
        (18, 3.0, 4),
        (19, None, 0),
        (20, 4.5, 2),
        (21, None, 0),
        (22, None, 0),
    ]
    s = response.summary
    assert (s.first_day, s.first_value, s.last_day, s.last_value) == (date(2026, 11, 18), 3.0, date(2026, 11, 20), 4.5)
    assert (s.change, s.change_pct, s.direction) == (1.5, 50.0, "up")
    short = trend(conn, catalog, WS, "csat", days=2)
    assert [(p.day.day, p.value) for p in short.points] == [(21, None), (22, None)]
    assert short.summary.direction is None and short.summary.first_value is None
    one = trend(conn, catalog, WS, "confidence", days=1)
    assert [(p.day, p.value) for p in one.points] == [(date(2026, 11, 22), 0.5)]
    assert one.summary.direction is None and one.summary.last_value == 0.5
    assert len(trend(conn, catalog, WS, "csat").points) == 30


def test_trend_of_an_empty_store_and_its_errors(conn: duckdb.DuckDBPyConnection, catalog: MetricCatalog) -> None:
    empty = trend(conn, catalog, WS, "csat")
    assert (empty.end_day, empty.start_day, empty.points) == (None, None, [])
    for days in (0, 366):
        with pytest.raises(QueryError) as caught:
            trend(conn, catalog, WS, "csat", days=days)
        assert caught.value.kind == "invalid_parameter"
    with pytest.raises(QueryError) as unknown:
        trend(conn, catalog, WS, "other_only")
    assert unknown.value.kind == "unknown_metric"


def test_catalog_lists_the_workspaces_metrics_with_versions_and_whether_they_have_values(
    conn: duckdb.DuckDBPyConnection, catalog: MetricCatalog
) -> None:
    fill(conn, catalog)
    add_value(conn, "escalated", "boolean", "c1", "2026-11-20 10:00", flag=True, status="invalid")  # no aggregate
    response = catalog_entries(conn, catalog, WS)
    entries = {m.key: m for m in response.metrics}
    assert len(entries) == 12 + 4 and "other_only" not in entries
    assert [m.key for m in response.metrics][-4:] == ["csat", "escalated", "topics", "retired"]
    assert {k for k, m in entries.items() if m.has_values} == {"confidence", "csat", "escalated"}
    csat = entries["csat"]
    assert (csat.builtin, csat.active, csat.definition.unit, csat.definition.is_required) == (
        False,
        True,
        "points",
        True,
    )
    assert (
        csat.definition_version
        == csat.published_definition_version
        == catalog.custom[WS][0].definition.definition_version
    )
    assert csat.latest_period_start == datetime(2026, 11, 21, 9, tzinfo=UTC)
    assert entries["confidence"].builtin and not entries["retired"].active
    assert entries["summary"].definition.post_call_default and response.default_metrics_enabled


def test_a_workspace_without_default_metrics_cannot_query_them(tmp_path: Path, conn: duckdb.DuckDBPyConnection) -> None:
    catalog = make_catalog(tmp_path / "defs", defaults_enabled=False)
    fill(conn, catalog)
    response = catalog_entries(conn, catalog, WS)
    assert [m.key for m in response.metrics] == ["csat", "escalated", "topics", "retired"]
    assert not response.default_metrics_enabled
    assert [a.metric_key for a in latest(conn, catalog, WS).aggregates] == ["csat"]
    with pytest.raises(QueryError) as caught:
        values(conn, catalog, WS, "confidence")
    assert caught.value.kind == "unknown_metric"


def test_every_page_of_entity_values_is_the_head_of_the_whole_list(
    conn: duckdb.DuckDBPyConnection, catalog: MetricCatalog
) -> None:
    """The newest page is computed from the newest rows only: a superseded row newer than its pair's latest
    evaluation (a re-evaluated older snapshot) must neither show nor push the latest value out of the page."""
    write_catalog_table(conn, catalog)
    for i in range(5):
        add_value(conn, "csat", "numerical", f"c{i}", f"2026-11-20 1{i}:00", num=float(i))
    # c9's old evaluation is of a later snapshot time than its newest evaluation
    add_value(conn, "csat", "numerical", "c9", "2026-11-21 00:00", num=-1.0, evaluated_at="2026-11-20 00:00")
    add_value(conn, "csat", "numerical", "c9", "2026-11-20 12:30", num=9.0, evaluated_at="2026-11-22 00:00")
    # newer than everything: the first pages are filled from the newest rows alone, the later ones are not
    for i in range(5, 8):
        add_value(conn, "csat", "numerical", f"c{i}", f"2026-11-22 1{i}:00", num=float(i))
    whole = [(e.entity_id, e.value) for e in latest(conn, catalog, WS, scope="entity").entities]
    assert whole == [
        ("c7", 7.0),
        ("c6", 6.0),
        ("c5", 5.0),
        ("c4", 4.0),
        ("c3", 3.0),
        ("c9", 9.0),
        ("c2", 2.0),
        ("c1", 1.0),
        ("c0", 0.0),
    ]
    for limit in range(1, 11):
        page = latest(conn, catalog, WS, scope="entity", limit=limit)
        assert [(e.entity_id, e.value) for e in page.entities] == whole[:limit]
        assert page.entities_truncated == (limit < len(whole))
