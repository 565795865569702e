"""Hourly and daily aggregates (CONTRACT §4 meanings, §5 relations), checked against values computed by hand."""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from metricstore.aggregate import AggregateResult, aggregate_window
from metricstore.catalog import write_catalog_table
from metricstore.catalog_loader import MetricCatalog, load_catalog
from metricstore.extract import extract_window
from metricstore.ingest import ingest_window
from metricstore.windows import HOUR, TimeWindow
from tests.conftest import event, hour, write_landing

H10 = TimeWindow(hour("2026-11-20 10:00"), hour("2026-11-20 11:00"))
H11 = TimeWindow(hour("2026-11-20 11:00"), hour("2026-11-20 12:00"))
DAY = datetime(2026, 11, 20)
AT10 = datetime(2026, 11, 20, 10)
AT11 = datetime(2026, 11, 20, 11)


def static(key: str, metric_type: str, path: str, aggregation: str, **fields: Any) -> dict[str, Any]:
    return {
        "key": key,
        "name": key.replace("_", " ").capitalize(),
        "metric_type": metric_type,
        "extraction_mode": "static",
        "extract_path": path,
        "aggregation": aggregation,
        **fields,
    }


def ratio(key: str, numerator: str, denominator: str, **fields: Any) -> dict[str, Any]:
    return {
        "key": key,
        "name": key,
        "metric_type": "numerical",
        "aggregation": "ratio",
        "ratio_of": {"numerator": numerator, "denominator": denominator},
        **fields,
    }


ALL_AGGREGATIONS = [
    static("v_count", "numerical", "$.v", "count", unit="calls"),
    static("v_sum", "numerical", "$.v", "sum"),
    static("v_avg", "numerical", "$.v", "avg"),
    static("v_min", "numerical", "$.v", "min"),
    static("v_max", "numerical", "$.v", "max"),
    static("cat_distinct", "categorical", "$.cat", "count_distinct"),
    static("flag_rate", "boolean", "$.flag", "rate"),
    static("z_sum", "numerical", "$.z", "sum"),
    static("refunds", "numerical", "$.refund", "count"),
    ratio("v_mean_ratio", "v_sum", "v_count"),
    ratio("v_per_z", "v_sum", "z_sum"),
    ratio("refund_share", "refunds", "v_count"),
]


def write_defs(
    root: Path,
    builtin: list[dict[str, Any]],
    workspaces: dict[str, list[dict[str, Any]]] | None = None,
) -> MetricCatalog:
    (root / "builtin").mkdir(parents=True, exist_ok=True)
    (root / "builtin" / "metrics.yaml").write_text(yaml.safe_dump({"metrics": builtin}))
    for ws, defs in (workspaces or {}).items():
        (root / "workspaces" / ws).mkdir(parents=True, exist_ok=True)
        (root / "workspaces" / ws / "custom.yaml").write_text(yaml.safe_dump({"metrics": defs}))
    return load_catalog(root)


def run(conn: duckdb.DuckDBPyConnection, landing: Path, catalog: MetricCatalog, window: TimeWindow) -> AggregateResult:
    """One hourly job: ingest, extract, aggregate."""
    ingest_window(conn, landing, window)
    extract_window(conn, catalog, window)
    return aggregate_window(conn, catalog, window)


def aggregates(
    conn: duckdb.DuckDBPyConnection, workspace: str = "ws_test"
) -> dict[tuple[str, str, datetime, str], tuple[float | None, int]]:
    rows = conn.execute(
        "SELECT metric_key, granularity, period_start, source, value, sample_count FROM metrics.metric_aggregates "
        "WHERE workspace_id = ?",
        [workspace],
    ).fetchall()
    return {(k, g, p, s): (v, n) for k, g, p, s, v, n in rows}


def value_of(conn: duckdb.DuckDBPyConnection, key: str, granularity: str, period: datetime, source: str) -> Any:
    return aggregates(conn)[(key, granularity, period, source)][0]


def expect(
    got: dict[tuple[str, str, datetime, str], tuple[float | None, int]],
    expected: dict[tuple[str, str, datetime, str], tuple[float | None, int]],
) -> None:
    """Same keys, same sample counts, values equal up to float rounding (None stays None)."""
    assert sorted(got) == sorted(expected)
    assert {k: v[1] for k, v in got.items()} == {k: v[1] for k, v in expected.items()}
    assert {k: v[0] for k, v in got.items()} == pytest.approx({k: v[0] for k, v in expected.items()})


def conversation(eid: str, at: str, cid: str, is_simulation: bool = False, **data: Any) -> dict[str, Any]:
    return event(eid, at, is_simulation=is_simulation, id=cid, **data)


HOUR10 = [
    conversation("e1", "2026-11-20T10:05:00Z", "c1", v=2, cat="a", flag=True, z=0),
    conversation("e2", "2026-11-20T10:20:00Z", "c2", v=4, cat="b", flag=False, z=0),
    conversation("e3", "2026-11-20T10:40:00Z", "c3", v=9, cat="a", flag=True, z=0),
    conversation("e4", "2026-11-20T10:50:00Z", "c4"),  # no values: counted nowhere
    conversation("s1", "2026-11-20T10:30:00Z", "sim1", is_simulation=True, v=100, cat="a", flag=True, z=5),
]
HOUR11 = [
    conversation("e5", "2026-11-20T11:10:00Z", "c5", v=1, cat="b", flag=False, z=1),
    conversation("e6", "2026-11-20T11:30:00Z", "c6", v=5, cat="c", flag=False, z=2, refund=True),
]


def hand_computed() -> dict[tuple[str, str, datetime, str], tuple[float | None, int]]:
    """Hour 10: v 2, 4, 9; cat a, b, a; flag T, F, T; z 0, 0, 0. Hour 11: v 1, 5; cat b, c; flag F, F;
    z 1, 2; one refund. Simulation, hour 10: v 100, cat a, flag T, z 5."""
    prod, sim = "production", "simulation"
    per_key: dict[str, list[tuple[str, datetime, str, float | None, int]]] = {
        "v_count": [("hourly", AT10, prod, 3, 3), ("hourly", AT11, prod, 2, 2), ("daily", DAY, prod, 5, 5)],
        "v_sum": [("hourly", AT10, prod, 15, 3), ("hourly", AT11, prod, 6, 2), ("daily", DAY, prod, 21, 5)],
        "v_avg": [("hourly", AT10, prod, 5, 3), ("hourly", AT11, prod, 3, 2), ("daily", DAY, prod, 4.2, 5)],
        "v_min": [("hourly", AT10, prod, 2, 3), ("hourly", AT11, prod, 1, 2), ("daily", DAY, prod, 1, 5)],
        "v_max": [("hourly", AT10, prod, 9, 3), ("hourly", AT11, prod, 5, 2), ("daily", DAY, prod, 9, 5)],
        # a, b in hour 10; b, c in hour 11; a, b, c over the day (not 2 + 2)
        "cat_distinct": [("hourly", AT10, prod, 2, 3), ("hourly", AT11, prod, 2, 2), ("daily", DAY, prod, 3, 5)],
        "flag_rate": [("hourly", AT10, prod, 2 / 3, 3), ("hourly", AT11, prod, 0, 2), ("daily", DAY, prod, 0.4, 5)],
        "z_sum": [("hourly", AT10, prod, 0, 3), ("hourly", AT11, prod, 3, 2), ("daily", DAY, prod, 3, 5)],
        "refunds": [("hourly", AT11, prod, 1, 1), ("daily", DAY, prod, 1, 1)],
        # ratios: the quotient of the period's aggregates, sample_count of the denominator
        "v_mean_ratio": [("hourly", AT10, prod, 5, 3), ("hourly", AT11, prod, 3, 2), ("daily", DAY, prod, 4.2, 5)],
        "v_per_z": [("hourly", AT10, prod, None, 3), ("hourly", AT11, prod, 2, 2), ("daily", DAY, prod, 7, 5)],
        "refund_share": [("hourly", AT10, prod, 0, 3), ("hourly", AT11, prod, 0.5, 2), ("daily", DAY, prod, 0.2, 5)],
    }
    sim_values = {
        "v_count": 1,
        "v_sum": 100,
        "v_avg": 100,
        "v_min": 100,
        "v_max": 100,
        "cat_distinct": 1,
        "flag_rate": 1.0,
        "z_sum": 5,
        "v_mean_ratio": 100,
        "v_per_z": 20,
        "refund_share": 0,
    }
    expected = {(k, g, p, s): (v, n) for k, rows in per_key.items() for g, p, s, v, n in rows}
    for key, value in sim_values.items():
        expected[(key, "hourly", AT10, sim)] = (value, 1)
        expected[(key, "daily", DAY, sim)] = (value, 1)
    return expected


@pytest.fixture
def catalog(tmp_path: Path) -> MetricCatalog:
    return write_defs(tmp_path / "defs", ALL_AGGREGATIONS)


def test_every_aggregation_hourly_and_daily(
    conn: duckdb.DuckDBPyConnection, landing: Path, catalog: MetricCatalog
) -> None:
    write_landing(landing, "call_intelligence/h10.jsonl", HOUR10)
    write_landing(landing, "call_intelligence/h11.jsonl", HOUR11)
    first = run(conn, landing, catalog, H10)
    second = run(conn, landing, catalog, H11)
    expect(aggregates(conn), hand_computed())
    assert (first.hours, first.days, first.stale_hours_recomputed) == (1, 1, 0)
    # hour 11's run writes its 12 hourly rows (production only) and the whole day again: 12 production rows,
    # 11 simulation ones (no refunds in simulation)
    assert second.rows_written == 12 + 12 + 11


def test_one_run_over_two_hours_gives_the_same_aggregates(
    conn: duckdb.DuckDBPyConnection, landing: Path, catalog: MetricCatalog
) -> None:
    write_landing(landing, "call_intelligence/all.jsonl", HOUR10 + HOUR11)
    result = run(conn, landing, catalog, TimeWindow(AT10, hour("2026-11-20 12:00")))
    assert (result.hours, result.days) == (2, 1)
    expect(aggregates(conn), hand_computed())


def test_rerunning_an_hour_recomputes_its_day(
    conn: duckdb.DuckDBPyConnection, landing: Path, catalog: MetricCatalog
) -> None:
    path = write_landing(landing, "call_intelligence/h10.jsonl", HOUR10)
    write_landing(landing, "call_intelligence/h11.jsonl", HOUR11)
    run(conn, landing, catalog, H10)
    run(conn, landing, catalog, H11)
    hour11 = conn.execute(
        "SELECT * FROM metrics.metric_aggregates WHERE period_start = ? ORDER BY ALL", [AT11]
    ).fetchall()

    # a corrected delivery for hour 10: c1 now has v 20 and category d; c2 is dropped
    changed = [
        conversation("e1", "2026-11-20T10:05:00Z", "c1", v=20, cat="d", flag=True, z=0),
        HOUR10[2],
        HOUR10[4],
    ]
    mtime = path.stat().st_mtime
    write_landing(landing, "call_intelligence/h10.jsonl", changed)
    os.utime(path, (mtime + 5, mtime + 5))
    run(conn, landing, catalog, H10)

    got = aggregates(conn)
    prod = "production"
    # hour 10 now: v 20, 9; cat d, a; flag T, T. Hour 11 as before: v 1, 5; cat b, c
    assert got[("v_count", "hourly", AT10, prod)] == (2, 2)
    assert got[("v_sum", "hourly", AT10, prod)] == (29, 2)
    assert got[("v_sum", "daily", DAY, prod)] == (35, 4)
    assert got[("v_avg", "daily", DAY, prod)] == (pytest.approx(8.75), 4)
    assert got[("v_min", "daily", DAY, prod)] == (1, 4)
    assert got[("v_max", "daily", DAY, prod)] == (20, 4)
    assert got[("cat_distinct", "daily", DAY, prod)] == (4, 4)
    assert got[("flag_rate", "daily", DAY, prod)] == (pytest.approx(0.5), 4)
    assert got[("v_mean_ratio", "daily", DAY, prod)] == (pytest.approx(8.75), 4)
    assert got[("v_sum", "daily", DAY, "simulation")] == (100, 1)
    # hour 11 was not recomputed
    assert (
        conn.execute("SELECT * FROM metrics.metric_aggregates WHERE period_start = ? ORDER BY ALL", [AT11]).fetchall()
        == hour11
    )


def test_rerun_is_idempotent(conn: duckdb.DuckDBPyConnection, landing: Path, catalog: MetricCatalog) -> None:
    write_landing(landing, "call_intelligence/h10.jsonl", HOUR10)
    write_landing(landing, "call_intelligence/h11.jsonl", HOUR11)
    for window in (H10, H11, H10, H11, H10):
        run(conn, landing, catalog, window)
    expect(aggregates(conn), hand_computed())
    assert conn.execute(
        "SELECT count(*) FROM (SELECT 1 FROM metrics.metric_aggregates "
        "GROUP BY workspace_id, metric_key, granularity, period_start, source HAVING count(*) > 1)"
    ).fetchone() == (0,)


def test_stale_hour_is_recomputed_after_supersession(
    conn: duckdb.DuckDBPyConnection, landing: Path, catalog: MetricCatalog
) -> None:
    write_landing(landing, "call_intelligence/h10.jsonl", HOUR10)
    run(conn, landing, catalog, H10)
    # c1 gets a later snapshot in hour 11: it leaves hour 10 (v 2, cat a) and counts in hour 11 (v 7, cat e)
    write_landing(
        landing,
        "call_intelligence/h11.jsonl",
        [*HOUR11, conversation("e1b", "2026-11-20T11:45:00Z", "c1", v=7, cat="e", flag=False, z=0)],
    )
    result = run(conn, landing, catalog, H11)

    assert result.stale_hours_recomputed == 1
    assert result.hours == 2
    assert conn.execute("SELECT count(*) FROM ops.stale_periods").fetchone() == (0,)
    got = aggregates(conn)
    prod = "production"
    # hour 10: v 4, 9; cat b, a; flag F, T.  hour 11: v 1, 5, 7; cat b, c, e; flag F, F, F
    assert got[("v_count", "hourly", AT10, prod)] == (2, 2)
    assert got[("v_sum", "hourly", AT10, prod)] == (13, 2)
    assert got[("v_min", "hourly", AT10, prod)] == (4, 2)
    assert got[("flag_rate", "hourly", AT10, prod)] == (0.5, 2)
    assert got[("cat_distinct", "hourly", AT10, prod)] == (2, 2)
    assert got[("v_count", "hourly", AT11, prod)] == (3, 3)
    assert got[("v_sum", "hourly", AT11, prod)] == (13, 3)
    # the day counts c1 once
    assert got[("v_count", "daily", DAY, prod)] == (5, 5)
    assert got[("v_sum", "daily", DAY, prod)] == (26, 5)
    assert got[("v_avg", "daily", DAY, prod)] == (pytest.approx(5.2), 5)
    assert got[("flag_rate", "daily", DAY, prod)] == (pytest.approx(0.2), 5)
    assert got[("cat_distinct", "daily", DAY, prod)] == (4, 5)  # a, b, c, e


def test_stale_hour_left_empty_loses_its_aggregates(
    conn: duckdb.DuckDBPyConnection, landing: Path, tmp_path: Path
) -> None:
    catalog = write_defs(tmp_path / "defs", [static("v_sum", "numerical", "$.v", "sum")])
    write_landing(landing, "call_intelligence/a.jsonl", [conversation("a", "2026-11-20T23:50:00Z", "c1", v=3)])
    late = TimeWindow(hour("2026-11-20 23:00"), hour("2026-11-21 00:00"))
    run(conn, landing, catalog, late)
    assert value_of(conn, "v_sum", "daily", DAY, "production") == 3

    write_landing(landing, "call_intelligence/b.jsonl", [conversation("b", "2026-11-21T00:05:00Z", "c1", v=4)])
    result = run(conn, landing, catalog, TimeWindow(hour("2026-11-21 00:00"), hour("2026-11-21 01:00")))
    assert (result.hours, result.days, result.stale_hours_recomputed) == (2, 2, 1)
    # the day before no longer has the conversation: neither its hour nor its day has a row
    assert aggregates(conn) == {
        ("v_sum", "hourly", datetime(2026, 11, 21, 0), "production"): (4, 1),
        ("v_sum", "daily", datetime(2026, 11, 21), "production"): (4, 1),
    }


def test_out_of_range_missing_and_invalid_values_are_not_aggregated(
    conn: duckdb.DuckDBPyConnection, landing: Path, tmp_path: Path
) -> None:
    catalog = write_defs(
        tmp_path / "defs",
        [
            static("q_sum", "numerical", "$.q", "sum", valid_range_min=0, valid_range_max=10, is_required=True),
            static("q_count", "numerical", "$.q", "count", valid_range_min=0, valid_range_max=10),
            static("q_max", "numerical", "$.q", "max", valid_range_min=0, valid_range_max=10),
            static("q_distinct", "numerical", "$.q", "count_distinct", valid_range_max=10),
        ],
    )
    qs: list[Any] = [2, 4, 9, 50, -1, "oops", None, 4]
    write_landing(
        landing,
        "call_intelligence/a.jsonl",
        [conversation(f"e{i}", "2026-11-20T10:30:00Z", f"c{i}", q=q) for i, q in enumerate(qs)],
    )
    run(conn, landing, catalog, H10)
    got = aggregates(conn)
    prod = "production"
    assert got[("q_sum", "hourly", AT10, prod)] == (19, 4)  # 2 + 4 + 9 + 4
    assert got[("q_count", "hourly", AT10, prod)] == (4, 4)
    assert got[("q_max", "hourly", AT10, prod)] == (9, 4)
    assert got[("q_distinct", "hourly", AT10, prod)] == (4, 5)  # 2, 4, 9, -1 (no minimum)
    assert got[("q_distinct", "daily", DAY, prod)] == (4, 5)
    assert conn.execute(
        "SELECT status, count(*) FROM metrics.metric_values WHERE metric_key = 'q_sum' "
        "GROUP BY 1 ORDER BY status::VARCHAR"  # an ENUM sorts in its declared order
    ).fetchall() == [("invalid", 1), ("missing", 1), ("ok", 4), ("out_of_range", 2)]


def test_value_put_out_of_range_by_a_new_definition_version_leaves_the_aggregates(
    conn: duckdb.DuckDBPyConnection, landing: Path, tmp_path: Path
) -> None:
    old = write_defs(tmp_path / "old", [static("q_sum", "numerical", "$.q", "sum")])
    new = write_defs(tmp_path / "new", [static("q_sum", "numerical", "$.q", "sum", valid_range_max=10)])
    write_landing(
        landing,
        "call_intelligence/a.jsonl",
        [
            conversation("e0", "2026-11-20T10:30:00Z", "c0", q=5),
            conversation("e1", "2026-11-20T10:40:00Z", "c1", q=500),
            conversation("e2", "2026-11-20T10:50:00Z", "c2", q="n/a"),
        ],
    )
    run(conn, landing, old, H10)
    assert value_of(conn, "q_sum", "hourly", AT10, "production") == 505
    run(conn, landing, new, H10)
    # the re-run replaced the static rows: c1 is now out of range and left out
    assert conn.execute("SELECT status FROM metrics.metric_values WHERE entity_id = 'c1'").fetchall() == [
        ("out_of_range",)
    ]
    assert aggregates(conn) == {
        ("q_sum", "hourly", AT10, "production"): (5, 1),
        ("q_sum", "daily", DAY, "production"): (5, 1),
    }


def test_ratio_with_zero_denominator_is_null(conn: duckdb.DuckDBPyConnection, landing: Path, tmp_path: Path) -> None:
    catalog = write_defs(
        tmp_path / "defs",
        [
            static("talk", "numerical", "$.talk", "sum"),
            static("hold", "numerical", "$.hold", "sum"),
            ratio("talk_per_hold", "talk", "hold"),
            ratio("hold_per_talk", "hold", "talk"),
        ],
    )
    write_landing(
        landing,
        "call_intelligence/a.jsonl",
        [
            conversation("a", "2026-11-20T10:10:00Z", "c1", talk=30, hold=0),
            conversation("b", "2026-11-20T10:20:00Z", "c2", talk=10, hold=0),
            conversation("c", "2026-11-20T11:20:00Z", "c3", talk=0, hold=4),
        ],
    )
    run(conn, landing, catalog, H10)
    run(conn, landing, catalog, H11)
    got = aggregates(conn)
    prod = "production"
    assert got[("talk_per_hold", "hourly", AT10, prod)] == (None, 2)
    assert got[("hold_per_talk", "hourly", AT10, prod)] == (0, 2)
    assert got[("talk_per_hold", "hourly", AT11, prod)] == (0, 1)
    assert got[("hold_per_talk", "hourly", AT11, prod)] == (None, 1)
    assert got[("talk_per_hold", "daily", DAY, prod)] == (10, 3)  # 40 / 4
    assert got[("hold_per_talk", "daily", DAY, prod)] == (0.1, 3)  # 4 / 40


def test_a_ratio_naming_an_extraction_mode_aggregates_as_without(
    conn: duckdb.DuckDBPyConnection, landing: Path, tmp_path: Path
) -> None:
    """The docs mark extraction_mode required, so a pasted ratio names one: it stays derived from ratio_of."""
    catalog = write_defs(
        tmp_path / "defs",
        [static("talk", "numerical", "$.talk", "sum"), static("calls", "numerical", "$.talk", "count")],
        {
            "ws_test": [
                ratio("talk_per_call", "talk", "calls"),
                ratio("static_named", "talk", "calls", extraction_mode="static"),
                ratio("ai_named", "talk", "calls", extraction_mode="ai_query"),
            ]
        },
    )
    write_landing(
        landing,
        "call_intelligence/a.jsonl",
        [
            conversation("a", "2026-11-20T10:10:00Z", "c1", talk=30),
            conversation("b", "2026-11-20T10:20:00Z", "c2", talk=10),
        ],
    )
    run(conn, landing, catalog, H10)
    got = aggregates(conn)
    for key in ("talk_per_call", "static_named", "ai_named"):
        assert got[(key, "hourly", AT10, "production")] == (20, 2), key  # 40 s over 2 calls
    assert conn.execute(
        "SELECT count(*) FROM metrics.metric_values WHERE metric_key IN ('static_named', 'ai_named')"
    ).fetchone() == (0,)


def test_workspaces_are_aggregated_apart(conn: duckdb.DuckDBPyConnection, landing: Path, tmp_path: Path) -> None:
    catalog = write_defs(
        tmp_path / "defs",
        [static("v_sum", "numerical", "$.v", "sum")],
        {"ws_a": [static("v_max", "numerical", "$.v", "max")]},
    )
    write_landing(
        landing,
        "call_intelligence/a.jsonl",
        [
            event("a1", "2026-11-20T10:10:00Z", workspace_id="ws_a", id="c1", v=3),
            event("a2", "2026-11-20T10:20:00Z", workspace_id="ws_a", id="c2", v=8),
            event("b1", "2026-11-20T10:30:00Z", workspace_id="ws_b", id="c1", v=100),
        ],
    )
    run(conn, landing, catalog, H10)
    assert aggregates(conn, "ws_a") == {
        ("v_sum", "hourly", AT10, "production"): (11, 2),
        ("v_sum", "daily", DAY, "production"): (11, 2),
        ("v_max", "hourly", AT10, "production"): (8, 2),
        ("v_max", "daily", DAY, "production"): (8, 2),
    }
    assert aggregates(conn, "ws_b") == {
        ("v_sum", "hourly", AT10, "production"): (100, 1),
        ("v_sum", "daily", DAY, "production"): (100, 1),
    }


def test_views(conn: duckdb.DuckDBPyConnection, landing: Path, tmp_path: Path) -> None:
    catalog = write_defs(
        tmp_path / "defs",
        [
            static("v_sum", "numerical", "$.v", "sum", unit="s"),
            static("v_daily_max", "numerical", "$.v", "max", period_granularity="daily"),
        ],
        {"ws_test": [static("tier", "categorical", "$.tier", "count_distinct")]},
    )
    write_catalog_table(conn, catalog)
    write_landing(
        landing,
        "call_intelligence/a.jsonl",
        [
            conversation("a", "2026-11-20T10:10:00Z", "c1", v=3, tier="gold"),
            conversation("b", "2026-11-20T11:10:00Z", "c2", v=4, tier="gold"),
            conversation("s", "2026-11-20T10:15:00Z", "c3", is_simulation=True, v=50),
            conversation("c", "2026-11-21T09:10:00Z", "c4", v=2, tier="silver"),
        ],
    )
    for window in (H10, H11, TimeWindow(hour("2026-11-21 09:00"), hour("2026-11-21 10:00"))):
        run(conn, landing, catalog, window)

    latest = conn.execute(
        "SELECT metric_key, name, unit, granularity, period_start, source, value, sample_count "
        "FROM metrics.metric_latest WHERE workspace_id = 'ws_test' ORDER BY metric_key, source"
    ).fetchall()
    assert latest == [
        ("tier", "Tier", None, "hourly", datetime(2026, 11, 21, 9), "production", 1.0, 1),
        ("v_daily_max", "V daily max", None, "daily", datetime(2026, 11, 21), "production", 2.0, 1),
        ("v_daily_max", "V daily max", None, "daily", DAY, "simulation", 50.0, 1),
        ("v_sum", "V sum", "s", "hourly", datetime(2026, 11, 21, 9), "production", 2.0, 1),
        ("v_sum", "V sum", "s", "hourly", AT10, "simulation", 50.0, 1),
    ]

    trend = conn.execute(
        "SELECT metric_key, day, source, value, sample_count FROM metrics.metric_trend "
        "WHERE workspace_id = 'ws_test' ORDER BY metric_key, source, day"
    ).fetchall()
    assert trend == [
        ("tier", date(2026, 11, 20), "production", 1.0, 2),
        ("tier", date(2026, 11, 21), "production", 1.0, 1),
        ("v_daily_max", date(2026, 11, 20), "production", 4.0, 2),
        ("v_daily_max", date(2026, 11, 21), "production", 2.0, 1),
        ("v_daily_max", date(2026, 11, 20), "simulation", 50.0, 1),
        ("v_sum", date(2026, 11, 20), "production", 7.0, 2),
        ("v_sum", date(2026, 11, 21), "production", 2.0, 1),
        ("v_sum", date(2026, 11, 20), "simulation", 50.0, 1),
    ]

    versions = {d.definition.key: d.definition.definition_version for d in catalog.all_definitions()}
    assert conn.execute(
        "SELECT workspace_id, metric_key, builtin, aggregation, period_granularity, definition_version, "
        "definition ->> '$.extract_path' FROM metrics.metric_catalog ORDER BY metric_key"
    ).fetchall() == [
        ("ws_test", "tier", False, "count_distinct", "hourly", versions["tier"], "$.tier"),
        (None, "v_daily_max", True, "max", "daily", versions["v_daily_max"], "$.v"),
        (None, "v_sum", True, "sum", "hourly", versions["v_sum"], "$.v"),
    ]


def test_metric_latest_keeps_workspaces_apart(conn: duckdb.DuckDBPyConnection, landing: Path, tmp_path: Path) -> None:
    # the same custom key in two workspaces, one hourly and one daily
    catalog = write_defs(
        tmp_path / "defs",
        [],
        {
            "ws_a": [static("nps", "numerical", "$.nps", "avg", name="NPS A")],
            "ws_b": [static("nps", "numerical", "$.nps", "avg", name="NPS B", period_granularity="daily")],
        },
    )
    write_catalog_table(conn, catalog)
    write_landing(
        landing,
        "call_intelligence/a.jsonl",
        [
            event("a", "2026-11-20T10:10:00Z", workspace_id="ws_a", id="c1", nps=6),
            event("b", "2026-11-20T10:20:00Z", workspace_id="ws_b", id="c1", nps=9),
        ],
    )
    run(conn, landing, catalog, H10)
    assert conn.execute(
        "SELECT workspace_id, name, granularity, period_start, value FROM metrics.metric_latest ORDER BY 1"
    ).fetchall() == [("ws_a", "NPS A", "hourly", AT10, 6.0), ("ws_b", "NPS B", "daily", DAY, 9.0)]


AI_SCORE = {
    "key": "score",
    "name": "Score",
    "metric_type": "numerical",
    "extraction_mode": "ai_query",
    "model_tier": "fast",
    "ai_query_prompt": "Rate the call 1-10: {{ transcript }}",
    "aggregation": "sum",
}


def test_an_ai_value_counts_at_its_latest_whichever_hours_share_a_run(
    conn: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    """Conversation E has an AI value in hour 03 (version 1) and a later one in hour 05 (version 2), F one in hour
    05. Aggregated hour by hour or in one run, E counts once, at its latest value, in hour 05 and in the day."""
    count = {k: v for k, v in AI_SCORE.items() if k != "aggregation"} | {"key": "n", "name": "N"}
    catalog = write_defs(tmp_path / "defs", [], {"ws_test": [AI_SCORE, count]})
    values = [
        ("E", "03:10", 10.0, "v1", "04:00"),
        ("E", "05:10", 20.0, "v2", "06:00"),
        ("F", "05:20", 1.0, "v2", "06:00"),
    ]
    for key in ("score", "n"):
        conn.executemany(
            "INSERT INTO metrics.metric_values (workspace_id, metric_key, metric_type, entity_type, entity_id, source, "
            "occurred_at, value_num, status, definition_version, evaluated_at) VALUES ('ws_test', ?, 'numerical', "
            "'conversation', ?, 'production', ?, ?, 'ok', ?, ?)",
            [[key, e, f"2026-11-20 {at}", v, version, f"2026-11-20 {done}"] for e, at, v, version, done in values],
        )
    at3, at5 = hour("2026-11-20 03:00"), hour("2026-11-20 05:00")
    expected = {
        ("score", "hourly", at5, "production"): (21.0, 2),
        ("score", "daily", DAY, "production"): (21.0, 2),
        ("n", "hourly", at5, "production"): (2.0, 2),
        ("n", "daily", DAY, "production"): (2.0, 2),
    }
    aggregate_window(conn, catalog, TimeWindow(at3, hour("2026-11-20 04:00")))
    aggregate_window(conn, catalog, TimeWindow(at5, hour("2026-11-20 06:00")))
    assert aggregates(conn) == expected
    aggregate_window(conn, catalog, TimeWindow(at3, hour("2026-11-20 06:00")))
    assert aggregates(conn) == expected


def _store_value(conn: duckdb.DuckDBPyConnection, key: str, entity: str, at: str, value: float, version: str) -> None:
    """One AI value stored the way the fan-out stores it (replacing the entity's value of that version)."""
    from metricstore.evaluation.store import VALUE_SCHEMA, write_evaluations

    row = dict.fromkeys(VALUE_SCHEMA) | {
        "workspace_id": "ws_test",
        "metric_key": key,
        "metric_type": "numerical",
        "entity_type": "conversation",
        "entity_id": entity,
        "source": "production",
        "occurred_at": datetime.fromisoformat(at),
        "value_num": value,
        "status": "ok",
        "definition_version": version,
        "evaluated_at": datetime.fromisoformat(at).replace(minute=59),
    }
    write_evaluations(conn, [row], [], [])


@pytest.mark.parametrize(
    ("old", "new", "version"),
    [
        ("2026-11-20 03:10", "2026-11-20 05:10", "v1"),  # the conversation moved later in its day, same version
        ("2026-11-20 03:10", "2026-11-20 05:10", "v2"),  # a new version's value, in another hour
        ("2026-11-20 23:10", "2026-11-21 00:10", "v1"),  # across midnight
        ("2026-11-20 23:10", "2026-11-21 00:10", "v2"),
    ],
)
def test_a_later_ai_value_takes_the_entity_out_of_the_hour_it_counted_in(
    conn: duckdb.DuckDBPyConnection, tmp_path: Path, old: str, new: str, version: str
) -> None:
    """E's value counted in its hour; a later value of E (its conversation moved, or a new definition version)
    arrives in a later run, in another hour. E then counts once, at the later value, whichever hours each run
    covered: as when one run saw both."""
    catalog = write_defs(tmp_path / "defs", [], {"ws_test": [AI_SCORE]})
    old_hour, new_hour = hour(old[:13] + ":00"), hour(new[:13] + ":00")
    _store_value(conn, "score", "F", old, 1.0, "v1")
    _store_value(conn, "score", "E", old, 10.0, "v1")
    aggregate_window(conn, catalog, TimeWindow(old_hour, old_hour + HOUR))
    _store_value(conn, "score", "E", new, 20.0, version)
    aggregate_window(conn, catalog, TimeWindow(new_hour, new_hour + HOUR))
    got = aggregates(conn)
    old_day, new_day = hour(old[:10] + " 00:00"), hour(new[:10] + " 00:00")
    expected = {
        ("score", "hourly", old_hour, "production"): (1.0, 1),
        ("score", "hourly", new_hour, "production"): (20.0, 1),
    }
    if old_day == new_day:
        expected[("score", "daily", old_day, "production")] = (21.0, 2)
    else:
        expected[("score", "daily", old_day, "production")] = (1.0, 1)
        expected[("score", "daily", new_day, "production")] = (20.0, 1)
    expect(got, expected)
    aggregate_window(conn, catalog, TimeWindow(old_hour, old_hour + HOUR))  # the old hour run again, alone
    expect(aggregates(conn), expected)


def test_a_gate_moves_an_entity_to_its_older_version_in_another_hour(
    conn: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    """E holds v1 in hour 23 and v2 in the next day's hour 00, both counted at v2. When v2 is held back by its gate,
    E counts at v1 in hour 23 again; when v2 passes, at v2 only: each run aggregates only the hour it is for."""
    from metricstore.calibration.gate import GateState, store_gates

    catalog = write_defs(tmp_path / "defs", [], {"ws_test": [AI_SCORE]})
    at23, at00 = hour("2026-11-20 23:00"), hour("2026-11-21 00:00")
    _store_value(conn, "score", "E", "2026-11-20 23:10", 10.0, "v1")
    _store_value(conn, "score", "E", "2026-11-21 00:10", 20.0, "v2")
    aggregate_window(conn, catalog, TimeWindow(at00, at00 + HOUR))
    at_v2 = {
        ("score", "hourly", at00, "production"): (20.0, 1),
        ("score", "daily", at00, "production"): (20.0, 1),
    }
    expect(aggregates(conn), at_v2)

    def gate(live: bool) -> None:
        store_gates(conn, [GateState("ws_test", "score", "v2", live, "test", "accuracy", 0.8, 0.5)])
        aggregate_window(conn, catalog, TimeWindow(at00, at00 + HOUR))

    gate(False)
    expect(
        aggregates(conn),
        {
            ("score", "hourly", at23, "production"): (10.0, 1),
            ("score", "daily", hour("2026-11-20 00:00"), "production"): (10.0, 1),
        },
    )
    gate(True)
    expect(aggregates(conn), at_v2)


def test_an_entity_whose_latest_value_goes_counts_at_the_one_before(
    conn: duckdb.DuckDBPyConnection, landing: Path, tmp_path: Path
) -> None:
    """Conversation c1's snapshot a (hour 03) holds its v1 value, snapshot b (hour 05) its v2 value, the latest.
    When b's file is removed and hour 05 runs again, b's value goes and c1 counts at v1 in hour 03 again."""
    catalog = write_defs(tmp_path / "defs", [], {"ws_test": [AI_SCORE]})
    at3, at5 = hour("2026-11-20 03:00"), hour("2026-11-20 05:00")
    write_landing(landing, "call_intelligence/a.jsonl", [conversation("a", "2026-11-20T03:10:00Z", "c1")])
    b = write_landing(landing, "call_intelligence/b.jsonl", [conversation("b", "2026-11-20T05:10:00Z", "c1")])
    window = TimeWindow(at3, at5 + HOUR)
    ingest_window(conn, landing, window)
    _store_value(conn, "score", "c1", "2026-11-20 03:10", 10.0, "v1")
    _store_value(conn, "score", "c1", "2026-11-20 05:10", 20.0, "v2")
    aggregate_window(conn, catalog, window)
    assert aggregates(conn) == {
        ("score", "hourly", at5, "production"): (20.0, 1),
        ("score", "daily", DAY, "production"): (20.0, 1),
    }
    b.unlink()
    ingest_window(conn, landing, TimeWindow(at5, at5 + HOUR))
    aggregate_window(conn, catalog, TimeWindow(at5, at5 + HOUR))
    assert aggregates(conn) == {
        ("score", "hourly", at3, "production"): (10.0, 1),
        ("score", "daily", DAY, "production"): (10.0, 1),
    }
