"""Properties: stored aggregates equal Python's computation over random values spread over one day's hours."""

from __future__ import annotations

import statistics
import tempfile
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metricstore.aggregate import aggregate_window
from metricstore.catalog_loader import MetricCatalog, load_catalog
from metricstore.extract import extract_window
from metricstore.ingest import ingest_window
from metricstore.warehouse import prepare
from metricstore.windows import TimeWindow
from tests.conftest import event, write_landing

DAY = datetime(2026, 11, 20)
WHOLE_DAY = TimeWindow(DAY, DAY + timedelta(days=1))
NUMERIC: dict[str, Callable[[list[float]], float]] = {
    "v_count": len,
    "v_sum": sum,
    "v_avg": statistics.fmean,
    "v_min": min,
    "v_max": max,
}
SOURCE = {False: "production", True: "simulation"}

PROPERTY_SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# (hour of the day, minute, is_simulation, value)
numbers = st.one_of(
    st.integers(min_value=-100_000, max_value=100_000),
    st.floats(min_value=-1e5, max_value=1e5, allow_nan=False, allow_infinity=False),
)
numeric_events = st.lists(
    st.tuples(st.integers(0, 23), st.integers(0, 59), st.booleans(), numbers), min_size=1, max_size=25
)
boolean_events = st.lists(
    st.tuples(st.integers(0, 23), st.integers(0, 59), st.booleans(), st.booleans()), min_size=1, max_size=25
)


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> MetricCatalog:
    root = tmp_path_factory.mktemp("defs")
    (root / "builtin").mkdir()
    aggregation = {"v_count": "count", "v_sum": "sum", "v_avg": "avg", "v_min": "min", "v_max": "max"}
    metrics: list[dict[str, Any]] = [
        {
            "key": key,
            "name": key,
            "metric_type": "numerical",
            "extraction_mode": "static",
            "extract_path": "$.v",
            "aggregation": agg,
        }
        for key, agg in aggregation.items()
    ]
    metrics.append(
        {
            "key": "b_rate",
            "name": "b_rate",
            "metric_type": "boolean",
            "extraction_mode": "static",
            "extract_path": "$.b",
            "aggregation": "rate",
        }
    )
    (root / "builtin" / "metrics.yaml").write_text(yaml.safe_dump({"metrics": metrics}))
    return load_catalog(root)


def stored_aggregates(
    catalog: MetricCatalog, rows: list[tuple[int, int, bool, Any]], field: str
) -> dict[tuple[str, str, datetime, str], tuple[float, int]]:
    """Land one event per row, run the day through ingest, extract and aggregate, return the aggregates."""
    with tempfile.TemporaryDirectory() as folder:
        landing = Path(folder)
        write_landing(
            landing,
            "call_intelligence/day.jsonl",
            [
                event(
                    f"e{i}",
                    (DAY + timedelta(hours=h, minutes=m)).isoformat() + "Z",
                    is_simulation=sim,
                    **{"id": f"c{i}", field: value},
                )
                for i, (h, m, sim, value) in enumerate(rows)
            ],
        )
        conn = duckdb.connect()
        try:
            prepare(conn)
            ingest_window(conn, landing, WHOLE_DAY)
            extract_window(conn, catalog, WHOLE_DAY)
            aggregate_window(conn, catalog, WHOLE_DAY)
            found = conn.execute(
                "SELECT metric_key, granularity, period_start, source, value, sample_count "
                "FROM metrics.metric_aggregates"
            ).fetchall()
        finally:
            conn.close()
    return {(k, g, p, s): (v, n) for k, g, p, s, v, n in found}


def grouped(rows: list[tuple[int, int, bool, Any]]) -> dict[tuple[str, datetime, str], list[Any]]:
    """Values by (granularity, period_start, source)."""
    groups: dict[tuple[str, datetime, str], list[Any]] = defaultdict(list)
    for h, _, sim, value in rows:
        groups[("hourly", DAY + timedelta(hours=h), SOURCE[sim])].append(value)
        groups[("daily", DAY, SOURCE[sim])].append(value)
    return groups


@PROPERTY_SETTINGS
@given(rows=numeric_events)
def test_numeric_aggregates_match_python(catalog: MetricCatalog, rows: list[tuple[int, int, bool, Any]]) -> None:
    got = stored_aggregates(catalog, rows, "v")
    expected = {
        (key, g, p, s): (compute(values), len(values))
        for (g, p, s), values in grouped(rows).items()
        for key, compute in NUMERIC.items()
    }
    assert sorted(k for k in got if k[0] in NUMERIC) == sorted(expected)
    assert {k: got[k][1] for k in expected} == {k: v[1] for k, v in expected.items()}
    assert {k: got[k][0] for k in expected} == pytest.approx({k: v[0] for k, v in expected.items()}, rel=1e-9, abs=1e-6)


@PROPERTY_SETTINGS
@given(rows=boolean_events)
def test_rate_is_the_share_of_trues(catalog: MetricCatalog, rows: list[tuple[int, int, bool, Any]]) -> None:
    got = stored_aggregates(catalog, rows, "b")
    expected = {("b_rate", g, p, s): (Fraction(sum(v), len(v)), len(v)) for (g, p, s), v in grouped(rows).items()}
    assert sorted(got) == sorted(expected)
    assert {k: got[k][1] for k in expected} == {k: v[1] for k, v in expected.items()}
    # exactly the share rounded to 9 decimals, the day's too (not a weighted mean of its rounded hours)
    assert {k: got[k][0] for k in expected} == {k: _rounded(v[0]) for k, v in expected.items()}
    assert all(0 <= value <= 1 for value, _ in got.values())


def _rounded(share: Fraction) -> float:
    return float(round(share, 9))


def test_a_day_is_exact_where_its_rounded_hours_are_not(catalog: MetricCatalog) -> None:
    """One hour of 1 sample and one of 6: the hours round to 9 decimals (2/6 → 0.333333333), and the day's 2/7
    from those would be 0.285714285; the day is 0.285714286. A sum of values finer than 9 decimals spread over
    three hours rounds to 0 in each hour and to 1e-9 for the day."""
    rows = [
        (0, 0, False, False),
        (1, 0, False, True),
        (1, 1, False, True),
        *[(1, m, False, False) for m in (2, 3, 4, 5)],
    ]
    got = stored_aggregates(catalog, rows, "b")
    assert got["b_rate", "daily", DAY, "production"] == (0.285714286, 7)
    numbers = [(h, m, False, 1 if b else 0) for h, m, _, b in rows]
    got = stored_aggregates(catalog, numbers, "v")
    assert got["v_avg", "daily", DAY, "production"] == (0.285714286, 7)
    assert got["v_sum", "daily", DAY, "production"] == (2, 7)
    fine = stored_aggregates(catalog, [(h, 0, False, 4e-10) for h in (0, 1, 2)], "v")
    assert [fine["v_sum", "hourly", DAY + timedelta(hours=h), "production"][0] for h in (0, 1, 2)] == [0, 0, 0]
    assert fine["v_sum", "daily", DAY, "production"] == (1e-9, 3)


def test_sums_are_exact_and_huge_values_still_aggregate(catalog: MetricCatalog) -> None:
    """Decimal values sum as written (0.1 + 0.2 + 0.3 is 0.6, their mean 0.2). A value too large for the decimal
    sum (1e300) fails neither its hour nor its day: that group is summed in floating point."""
    got = stored_aggregates(
        catalog, [(0, 0, False, 0.1), (0, 1, False, 0.2), (0, 2, False, 0.3), (1, 0, False, 1e300)], "v"
    )
    assert got["v_sum", "hourly", DAY, "production"] == (0.6, 3)
    assert got["v_avg", "hourly", DAY, "production"] == (0.2, 3)
    assert got["v_sum", "hourly", DAY + timedelta(hours=1), "production"] == (1e300, 1)
    assert got["v_sum", "daily", DAY, "production"] == (1e300, 4)
