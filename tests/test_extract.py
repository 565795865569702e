"""Static and sql_expr extraction into metrics.metric_values (CONTRACT §4, §5), with small custom catalogs."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from metricstore.catalog_loader import MetricCatalog, load_catalog
from metricstore.extract import ExtractResult, extract_window, static_definitions
from metricstore.ingest import ingest_window
from metricstore.windows import TimeWindow
from tests.conftest import DOCS_METRIC, event, hour, write_landing

H10 = TimeWindow(hour("2026-11-20 10:00"), hour("2026-11-20 11:00"))
H11 = TimeWindow(hour("2026-11-20 11:00"), hour("2026-11-20 12:00"))
T10 = "2026-11-20T10:15:00Z"


def metric(key: str, metric_type: str, path: str, **fields: Any) -> dict[str, Any]:
    """A static definition reading ``path``."""
    return {
        "key": key,
        "name": key.replace("_", " "),
        "metric_type": metric_type,
        "extraction_mode": "static",
        "extract_path": path,
        **fields,
    }


def write_defs(
    root: Path,
    *,
    builtin: list[dict[str, Any]] | None = None,
    workspaces: dict[str, list[dict[str, Any]]] | None = None,
    settings: dict[str, dict[str, Any]] | None = None,
) -> MetricCatalog:
    """Write definition YAML under ``root`` and load it the one way the product does."""
    (root / "builtin").mkdir(parents=True, exist_ok=True)
    (root / "builtin" / "metrics.yaml").write_text(yaml.safe_dump({"metrics": builtin or []}))
    for ws, defs in (workspaces or {}).items():
        (root / "workspaces" / ws).mkdir(parents=True, exist_ok=True)
        (root / "workspaces" / ws / "custom.yaml").write_text(yaml.safe_dump({"metrics": defs}))
    for ws, values in (settings or {}).items():
        (root / "workspaces" / ws).mkdir(parents=True, exist_ok=True)
        (root / "workspaces" / ws / "workspace.yaml").write_text(yaml.safe_dump(values))
    return load_catalog(root)


def run(
    conn: duckdb.DuckDBPyConnection, landing: Path, catalog: MetricCatalog, window: TimeWindow = H10
) -> ExtractResult:
    ingest_window(conn, landing, window)
    return extract_window(conn, catalog, window)


def values(conn: duckdb.DuckDBPyConnection, key: str, columns: str = "value_num, status") -> list[tuple[Any, ...]]:
    """``entity_id`` and ``columns`` of one metric's rows, by entity."""
    return conn.execute(
        f"SELECT entity_id, {columns} FROM metrics.metric_values WHERE metric_key = ? ORDER BY entity_id, 2",
        [key],
    ).fetchall()


def calls(landing: Path, *data: dict[str, Any], at: str = T10, **envelope: Any) -> None:
    """One call_intelligence.row per ``data`` (conversation ids c0, c1, …) in one landing file."""
    write_landing(
        landing,
        "call_intelligence/calls.jsonl",
        [event(f"e{i}", at, **envelope, **{"id": f"c{i}", **d}) for i, d in enumerate(data)],
    )


def test_numerical_values_are_typed(conn: duckdb.DuckDBPyConnection, landing: Path, tmp_path: Path) -> None:
    catalog = write_defs(tmp_path / "defs", builtin=[metric("dur", "numerical", "$.duration")])
    calls(
        landing,
        {"duration": 12},
        {"duration": "7.5"},
        {"duration": " 42 "},
        {"duration": True},
        {"duration": -3.25},
        {"duration": "abc"},
        {"duration": {"s": 1}},
        {"duration": [1]},
        {"duration": 1e3},
        {"duration": "NaN"},
        {"duration": "Infinity"},
        {"duration": "-inf"},
        {"duration": "1e400"},
    )
    run(conn, landing, catalog)
    got = {row[0]: row[1:] for row in values(conn, "dur", "value_num, value_text, status")}
    assert got == {
        "c0": (12.0, None, "ok"),
        "c1": (7.5, None, "ok"),
        "c2": (42.0, None, "ok"),
        "c3": (1.0, None, "ok"),
        "c4": (-3.25, None, "ok"),
        "c5": (None, "abc", "invalid"),
        "c6": (None, '{"s":1}', "invalid"),
        "c7": (None, "[1]", "invalid"),
        "c8": (1000.0, None, "ok"),
        # not finite: not a number a sum or an average could use
        "c9": (None, "NaN", "invalid"),
        "c10": (None, "Infinity", "invalid"),
        "c11": (None, "-inf", "invalid"),
        "c12": (None, "1e400", "invalid"),
    }


def test_boolean_values_are_typed(conn: duckdb.DuckDBPyConnection, landing: Path, tmp_path: Path) -> None:
    catalog = write_defs(tmp_path / "defs", builtin=[metric("cb", "boolean", "$.callbackRequired")])
    answers = [True, False, "yes", "no", "YES", "true", "False", 1, 0, "1", "0", "y", "N", 2.5, "maybe", [True]]
    calls(landing, *({"callbackRequired": a} for a in answers))
    run(conn, landing, catalog)
    expected = [True, False, True, False, True, True, False, True, False, True, False, True, False, True, None, None]
    got = {row[0]: row[1:] for row in values(conn, "cb", "value_bool, status")}
    assert [got[f"c{i}"] for i in range(len(answers))] == [(b, "ok" if b is not None else "invalid") for b in expected]


def test_list_values_from_arrays_and_scalars(conn: duckdb.DuckDBPyConnection, landing: Path, tmp_path: Path) -> None:
    catalog = write_defs(tmp_path / "defs", builtin=[metric("kp", "list", "$.keyPoints")])
    calls(
        landing,
        {"keyPoints": ["refund", "late delivery"]},
        {"keyPoints": "single point"},
        {"keyPoints": 5},
        {"keyPoints": [1, "two", True]},
        {"keyPoints": []},
        {"keyPoints": None},
        {},
    )
    run(conn, landing, catalog)
    assert values(conn, "kp", "value_list, status") == [
        ("c0", ["refund", "late delivery"], "ok"),
        ("c1", ["single point"], "ok"),
        ("c2", ["5"], "ok"),
        ("c3", ["1", "two", "true"], "ok"),
        ("c4", [], "ok"),
    ]


def test_categorical_and_text_values(conn: duckdb.DuckDBPyConnection, landing: Path, tmp_path: Path) -> None:
    catalog = write_defs(
        tmp_path / "defs",
        builtin=[metric("tier", "categorical", "$.tier"), metric("summary", "text", "$.summary")],
    )
    calls(
        landing,
        {"tier": "gold", "summary": "Asked for a refund."},
        {"tier": 3, "summary": 12},
        {"tier": 2.5, "summary": "  "},
        {"tier": True},
        {"tier": ""},
    )
    run(conn, landing, catalog)
    assert values(conn, "tier", "value_text, value_num, status") == [
        ("c0", "gold", None, "ok"),
        ("c1", "3", None, "ok"),
        ("c2", "2.5", None, "ok"),
        ("c3", "true", None, "ok"),
    ]
    assert values(conn, "summary", "value_text, status") == [("c0", "Asked for a refund.", "ok"), ("c1", "12", "ok")]


def test_nested_data_paths(conn: duckdb.DuckDBPyConnection, landing: Path, tmp_path: Path) -> None:
    catalog = write_defs(
        tmp_path / "defs",
        builtin=[
            metric("first_role", "categorical", "$.transcription[0].role"),
            metric("eval_score", "numerical", "$.selfEvaluation.score"),
        ],
    )
    calls(
        landing,
        {"transcription": [{"role": "assistant", "content": "Hi"}], "selfEvaluation": {"score": "8"}},
        {"transcription": [], "selfEvaluation": {}},
    )
    run(conn, landing, catalog)
    assert values(conn, "first_role", "value_text") == [("c0", "assistant")]
    assert values(conn, "eval_score", "value_num") == [("c0", 8.0)]


def test_out_of_range_values_are_kept_with_their_status(
    conn: duckdb.DuckDBPyConnection, landing: Path, tmp_path: Path
) -> None:
    catalog = write_defs(
        tmp_path / "defs",
        builtin=[metric("q", "numerical", "$.quality_score", valid_range_min=0, valid_range_max=100)],
    )
    calls(landing, *({"quality_score": v} for v in [-1, 0, 55.5, 100, 100.01, "150", "x"]))
    run(conn, landing, catalog)
    assert values(conn, "q") == [
        ("c0", -1.0, "out_of_range"),
        ("c1", 0.0, "ok"),
        ("c2", 55.5, "ok"),
        ("c3", 100.0, "ok"),
        ("c4", 100.01, "out_of_range"),
        ("c5", 150.0, "out_of_range"),
        ("c6", None, "invalid"),
    ]


def test_one_sided_range(conn: duckdb.DuckDBPyConnection, landing: Path, tmp_path: Path) -> None:
    catalog = write_defs(tmp_path / "defs", builtin=[metric("d", "numerical", "$.duration", valid_range_min=0)])
    calls(landing, {"duration": -0.5}, {"duration": 1e9})
    run(conn, landing, catalog)
    assert values(conn, "d") == [("c0", -0.5, "out_of_range"), ("c1", 1e9, "ok")]


def test_missing_required_vs_optional(conn: duckdb.DuckDBPyConnection, landing: Path, tmp_path: Path) -> None:
    catalog = write_defs(
        tmp_path / "defs",
        builtin=[
            metric("req", "numerical", "$.duration", is_required=True),
            metric("opt", "numerical", "$.duration"),
            metric("req_text", "text", "$.summary", is_required=True),
        ],
    )
    calls(
        landing,
        {"duration": 30, "summary": "fine"},
        {"duration": None, "summary": ""},
        {"summary": "   "},
        {"duration": "", "summary": None},
        {"duration": "n/a"},
    )
    result = run(conn, landing, catalog)
    assert values(conn, "req", "value_num, value_text, status") == [
        ("c0", 30.0, None, "ok"),
        ("c1", None, None, "missing"),
        ("c2", None, None, "missing"),
        ("c3", None, None, "missing"),
        ("c4", None, "n/a", "invalid"),
    ]
    assert values(conn, "opt", "value_num, status") == [("c0", 30.0, "ok"), ("c4", None, "invalid")]
    assert values(conn, "req_text", "value_text, status") == [
        ("c0", "fine", "ok"),
        ("c1", None, "missing"),
        ("c2", None, "missing"),
        ("c3", None, "missing"),
        ("c4", None, "missing"),
    ]
    assert result.values_by_status == {"invalid": 2, "missing": 7, "ok": 3}
    assert result.values_by_metric == {"opt": 2, "req": 5, "req_text": 5}
    assert (result.entities, result.values_written) == (5, 12)


def test_channel_scope_filters_events(conn: duckdb.DuckDBPyConnection, landing: Path, tmp_path: Path) -> None:
    scopes = ["all", "voice", "text", "surface", "inbound", "outbound"]
    catalog = write_defs(
        tmp_path / "defs",
        builtin=[
            {"key": f"n_{s}", "name": s, "metric_type": "numerical", "extraction_mode": "sql_expr", "sql_expr": "1"}
            | {"channel_scope": s}
            for s in scopes
        ],
    )
    envelopes = [
        ("voice", "inbound"),
        ("voice", "outbound"),
        ("text", "outbound"),
        ("text", None),
        ("surface", "inbound"),
    ]
    write_landing(
        landing,
        "call_intelligence/calls.jsonl",
        [event(f"e{i}", T10, channel=c, direction=d, id=f"c{i}") for i, (c, d) in enumerate(envelopes)],
    )
    run(conn, landing, catalog)
    got = {
        s: [
            r[0]
            for r in conn.execute(
                "SELECT entity_id FROM metrics.metric_values WHERE metric_key = ? ORDER BY 1", [f"n_{s}"]
            ).fetchall()
        ]
        for s in scopes
    }
    assert got == {
        "all": ["c0", "c1", "c2", "c3", "c4"],
        "voice": ["c0", "c1"],
        "text": ["c2", "c3"],
        "surface": ["c4"],
        "inbound": ["c0", "c4"],
        "outbound": ["c1", "c2"],
    }


def test_event_types_and_source_filter(conn: duckdb.DuckDBPyConnection, landing: Path, tmp_path: Path) -> None:
    catalog = write_defs(
        tmp_path / "defs",
        builtin=[
            metric(
                "escalations",
                "numerical",
                "$.level",
                source="world_events",
                event_types=["world_events.escalation", "world_events.transfer"],
            ),
            metric("any_world", "numerical", "$.level", source="world_events"),
            metric("call_level", "numerical", "$.level"),
        ],
    )
    write_landing(
        landing,
        "world_events/w.jsonl",
        [
            event("w1", T10, source="world_events", event_type="world_events.escalation", level=2),
            event("w2", T10, source="world_events", event_type="world_events.greeting", level=5),
            event("w3", T10, source="world_events", event_type="world_events.transfer", level=7),
        ],
    )
    write_landing(landing, "call_intelligence/c.jsonl", [event("c", T10, id="conv", level=9)])
    run(conn, landing, catalog)
    assert values(conn, "escalations", "entity_type, value_num") == [("w1", "event", 2.0), ("w3", "event", 7.0)]
    assert values(conn, "any_world", "value_num") == [("w1", 2.0), ("w2", 5.0), ("w3", 7.0)]
    assert values(conn, "call_level", "entity_type, value_num") == [("conv", "conversation", 9.0)]


def envelope(key: str, metric_type: str, column: str, **fields: Any) -> dict[str, Any]:
    """A built-in sql_expr metric reading one envelope column, the way built-ins read the envelope."""
    return {"key": key, "name": key, "metric_type": metric_type, "extraction_mode": "sql_expr", "sql_expr": column}


def test_envelope_columns_through_sql_expr(conn: duckdb.DuckDBPyConnection, landing: Path, tmp_path: Path) -> None:
    catalog = write_defs(
        tmp_path / "defs",
        builtin=[
            {**envelope("service", "categorical", "service_id"), "aggregation": "count_distinct"},
            envelope("chan", "categorical", "channel"),
            {**envelope("dir", "categorical", "direction"), "is_required": True},
            envelope("session", "text", "session_id"),
        ],
    )
    write_landing(
        landing,
        "call_intelligence/c.jsonl",
        [
            event("e0", T10, id="c0", service_id="svc_sales", session_id="CA1", channel="text", direction=None),
            event("e1", T10, id="c1", service_id="svc_support", session_id=None, direction="outbound"),
        ],
    )
    run(conn, landing, catalog)
    assert values(conn, "service", "value_text") == [("c0", "svc_sales"), ("c1", "svc_support")]
    assert values(conn, "chan", "value_text") == [("c0", "text"), ("c1", "voice")]
    assert values(conn, "dir", "value_text, status") == [("c0", None, "missing"), ("c1", "outbound", "ok")]
    assert values(conn, "session", "value_text") == [("c0", "CA1")]


def test_a_definition_from_the_docs_reads_data(conn: duckdb.DuckDBPyConnection, landing: Path, tmp_path: Path) -> None:
    catalog = write_defs(tmp_path / "defs", workspaces={"ws_test": [DOCS_METRIC]})
    calls(landing, {"quality_score": 87.5}, {"quality_score": "61"}, {})
    run(conn, landing, catalog)
    assert values(conn, "docs_quality") == [("c0", 87.5, "ok"), ("c1", 61.0, "ok")]


def test_extract_path_reads_data_never_the_envelope(
    conn: duckdb.DuckDBPyConnection, landing: Path, tmp_path: Path
) -> None:
    catalog = write_defs(
        tmp_path / "defs",
        builtin=[metric("chan", "categorical", "$.channel"), metric("nested", "categorical", "$.data.x")],
    )
    with_channel = event("e0", T10, channel="text", id="c0")
    with_channel["data"]["channel"] = "from data"  # `channel=` names the envelope's
    write_landing(
        landing, "call_intelligence/c.jsonl", [with_channel, event("e1", T10, id="c1", data={"x": "data.data.x"})]
    )
    run(conn, landing, catalog)
    assert values(conn, "chan", "value_text") == [("c0", "from data")]  # not the envelope's 'text'
    assert values(conn, "nested", "value_text") == [("c1", "data.data.x")]


def test_a_ratio_naming_a_mode_is_not_extracted(tmp_path: Path) -> None:
    ratio = {
        "key": "per_call",
        "name": "Per call",
        "metric_type": "numerical",
        "extraction_mode": "static",
        "aggregation": "ratio",
        "ratio_of": {"numerator": "dur", "denominator": "calls"},
    }
    catalog = write_defs(
        tmp_path / "defs",
        builtin=[metric("dur", "numerical", "$.duration", aggregation="sum"), envelope("calls", "numerical", "1")],
        workspaces={"ws_test": [ratio]},
    )
    assert [d.definition.key for d in static_definitions(catalog, "ws_test")] == ["dur", "calls"]


def test_sql_expr_builtin(conn: duckdb.DuckDBPyConnection, landing: Path, tmp_path: Path) -> None:
    catalog = write_defs(
        tmp_path / "defs",
        builtin=[
            {
                "key": "duration_min",
                "name": "Duration (min)",
                "metric_type": "numerical",
                "extraction_mode": "sql_expr",
                "sql_expr": "coalesce(try_cast(data ->> 'duration' AS DOUBLE), "
                "date_diff('second', try_cast(data ->> 'startTime' AS TIMESTAMPTZ), "
                "try_cast(data ->> 'endTime' AS TIMESTAMPTZ))) / 60",
                "aggregation": "avg",
            },
            {
                "key": "is_long",
                "name": "Long call",
                "metric_type": "boolean",
                "extraction_mode": "sql_expr",
                "sql_expr": "try_cast(data ->> 'duration' AS DOUBLE) > 300",
                "aggregation": "rate",
            },
            {
                "key": "calls",
                "name": "Calls",
                "metric_type": "numerical",
                "extraction_mode": "sql_expr",
                "sql_expr": "1",
                "event_types": ["call_intelligence.row"],
            },
        ],
    )
    calls(
        landing,
        {"duration": 90},
        {"startTime": "2026-11-20T10:00:00Z", "endTime": "2026-11-20T10:12:30Z"},
        {"duration": "600"},
        {},
    )
    run(conn, landing, catalog)
    assert values(conn, "duration_min") == [("c0", 1.5, "ok"), ("c1", 12.5, "ok"), ("c2", 10.0, "ok")]
    assert values(conn, "is_long", "value_bool") == [("c0", False), ("c2", True)]
    assert values(conn, "calls") == [("c0", 1.0, "ok"), ("c1", 1.0, "ok"), ("c2", 1.0, "ok"), ("c3", 1.0, "ok")]


def test_custom_metric_stays_in_its_workspace(conn: duckdb.DuckDBPyConnection, landing: Path, tmp_path: Path) -> None:
    catalog = write_defs(
        tmp_path / "defs",
        builtin=[metric("dur", "numerical", "$.duration")],
        workspaces={
            "ws_a": [metric("nps", "numerical", "$.nps")],
            "ws_b": [metric("csat", "numerical", "$.nps")],
        },
    )
    write_landing(
        landing,
        "call_intelligence/c.jsonl",
        [
            event("a1", T10, workspace_id="ws_a", id="x", nps=9, duration=10),
            event("b1", T10, workspace_id="ws_b", id="x", nps=3, duration=20),
            event("c1", T10, workspace_id="ws_c", id="y", nps=5, duration=30),
        ],
    )
    run(conn, landing, catalog)
    rows = conn.execute(
        "SELECT workspace_id, metric_key, entity_id, value_num FROM metrics.metric_values ORDER BY 1, 2"
    ).fetchall()
    assert rows == [
        ("ws_a", "dur", "x", 10.0),
        ("ws_a", "nps", "x", 9.0),
        ("ws_b", "csat", "x", 3.0),
        ("ws_b", "dur", "x", 20.0),
        # a workspace with no folder still gets the built-ins, and nobody's custom metrics
        ("ws_c", "dur", "y", 30.0),
    ]


def test_default_metrics_disabled(conn: duckdb.DuckDBPyConnection, landing: Path, tmp_path: Path) -> None:
    catalog = write_defs(
        tmp_path / "defs",
        builtin=[
            metric("sentiment", "categorical", "$.sentiment", post_call_default=True),
            metric("dur", "numerical", "$.duration"),
        ],
        workspaces={"ws_off": [metric("own", "numerical", "$.duration")]},
        settings={"ws_off": {"default_metrics_enabled": False}, "ws_on": {"default_metrics_enabled": True}},
    )
    write_landing(
        landing,
        "call_intelligence/c.jsonl",
        [
            event(f"{ws}_1", T10, workspace_id=ws, id="c", sentiment="positive", duration=5)
            for ws in ("ws_off", "ws_on", "ws_other")
        ],
    )
    run(conn, landing, catalog)
    rows = conn.execute("SELECT workspace_id, metric_key FROM metrics.metric_values ORDER BY 1, 2").fetchall()
    assert rows == [
        ("ws_off", "dur"),
        ("ws_off", "own"),
        ("ws_on", "dur"),
        ("ws_on", "sentiment"),
        ("ws_other", "dur"),
        ("ws_other", "sentiment"),
    ]


def test_inactive_metric_is_not_extracted(conn: duckdb.DuckDBPyConnection, landing: Path, tmp_path: Path) -> None:
    catalog = write_defs(
        tmp_path / "defs",
        builtin=[metric("dur", "numerical", "$.duration", active=False), metric("q", "numerical", "$.q")],
    )
    calls(landing, {"duration": 5, "q": 1})
    run(conn, landing, catalog)
    assert conn.execute("SELECT DISTINCT metric_key FROM metrics.metric_values").fetchall() == [("q",)]


def test_row_columns_carry_the_envelope(conn: duckdb.DuckDBPyConnection, landing: Path, tmp_path: Path) -> None:
    catalog = write_defs(tmp_path / "defs", builtin=[metric("dur", "numerical", "$.duration")])
    write_landing(
        landing,
        "call_intelligence/c.jsonl",
        [
            event("e1", "2026-11-20T12:15:00+02:00", id="c1", duration=5, session_id="CA1", channel="text"),
            event("e2", T10, id="c2", duration=6, is_simulation=True, direction="outbound", service_id=None),
        ],
    )
    run(conn, landing, catalog)
    rows = conn.execute(
        "SELECT workspace_id, metric_type, entity_type, entity_id, session_id, service_id, channel, direction, "
        "source, occurred_at, definition_version, rationale, model FROM metrics.metric_values ORDER BY entity_id"
    ).fetchall()
    version = catalog.builtins[0].definition.definition_version
    assert rows == [
        ("ws_test", "numerical", "conversation", "c1", "CA1", "svc", "text", "inbound", "production",
         datetime(2026, 11, 20, 10, 15), version, None, None),
        ("ws_test", "numerical", "conversation", "c2", "s1", None, "voice", "outbound", "simulation",
         datetime(2026, 11, 20, 10, 15), version, None, None),
    ]  # fmt: skip


def test_rerunning_extraction_replaces_the_window(
    conn: duckdb.DuckDBPyConnection, landing: Path, tmp_path: Path
) -> None:
    catalog = write_defs(tmp_path / "defs", builtin=[metric("dur", "numerical", "$.duration")])
    calls(landing, {"duration": 5}, {"duration": 6})
    run(conn, landing, catalog)
    run(conn, landing, catalog)
    assert values(conn, "dur") == [("c0", 5.0, "ok"), ("c1", 6.0, "ok")]
    # a changed landing file changes the values of a re-run, and a value that vanished leaves no row
    path = landing / "call_intelligence" / "calls.jsonl"
    mtime = path.stat().st_mtime
    calls(landing, {"duration": 50}, {})
    os.utime(path, (mtime + 5, mtime + 5))
    run(conn, landing, catalog)
    assert values(conn, "dur") == [("c0", 50.0, "ok")]


def test_latest_snapshot_in_a_window_represents_the_conversation(
    conn: duckdb.DuckDBPyConnection, landing: Path, tmp_path: Path
) -> None:
    catalog = write_defs(tmp_path / "defs", builtin=[metric("dur", "numerical", "$.duration")])
    write_landing(
        landing,
        "call_intelligence/c.jsonl",
        [
            # same time: higher snapshot_version wins
            event("a1", "2026-11-20T10:10:00Z", id="a", snapshot_version=2, duration=20),
            event("a2", "2026-11-20T10:10:00Z", id="a", snapshot_version=1, duration=10),
            # later time wins over a higher version
            event("b1", "2026-11-20T10:05:00Z", id="b", snapshot_version=9, duration=90),
            event("b2", "2026-11-20T10:30:00Z", id="b", snapshot_version=1, duration=11),
            # versioned beats unversioned at the same time
            event("c1", "2026-11-20T10:20:00Z", id="c", duration=1),
            event("c2", "2026-11-20T10:20:00Z", id="c", snapshot_version=0, duration=2),
        ],
    )
    result = run(conn, landing, catalog)
    assert conn.execute(
        "SELECT entity_id, occurred_at, value_num FROM metrics.metric_values ORDER BY entity_id"
    ).fetchall() == [
        ("a", datetime(2026, 11, 20, 10, 10), 20.0),
        ("b", datetime(2026, 11, 20, 10, 30), 11.0),
        ("c", datetime(2026, 11, 20, 10, 20), 2.0),
    ]
    assert result.entities == 3


def test_conversation_ids_are_per_workspace(conn: duckdb.DuckDBPyConnection, landing: Path, tmp_path: Path) -> None:
    catalog = write_defs(tmp_path / "defs", builtin=[metric("dur", "numerical", "$.duration")])
    write_landing(
        landing,
        "call_intelligence/c.jsonl",
        [
            event("a", "2026-11-20T10:10:00Z", workspace_id="ws_a", id="same", duration=1),
            event("b", "2026-11-20T10:40:00Z", workspace_id="ws_b", id="same", duration=2),
        ],
    )
    run(conn, landing, catalog)
    assert conn.execute("SELECT workspace_id, value_num FROM metrics.metric_values ORDER BY 1").fetchall() == [
        ("ws_a", 1.0),
        ("ws_b", 2.0),
    ]


def test_later_snapshot_moves_the_conversation_and_marks_the_old_hour_stale(
    conn: duckdb.DuckDBPyConnection, landing: Path, tmp_path: Path
) -> None:
    catalog = write_defs(
        tmp_path / "defs",
        builtin=[metric("dur", "numerical", "$.duration"), metric("st", "categorical", "$.status")],
    )
    write_landing(
        landing,
        "call_intelligence/h10.jsonl",
        [
            event("c1_v1", "2026-11-20T10:20:00Z", id="c1", duration=100, status="in_progress"),
            event("c2", "2026-11-20T10:30:00Z", id="c2", duration=7),
        ],
    )
    first = run(conn, landing, catalog, H10)
    assert first.stale_hours == 0
    assert values(conn, "dur", "occurred_at, value_num") == [
        ("c1", datetime(2026, 11, 20, 10, 20), 100.0),
        ("c2", datetime(2026, 11, 20, 10, 30), 7.0),
    ]

    write_landing(
        landing, "call_intelligence/h11.jsonl", [event("c1_v2", "2026-11-20T11:05:00Z", id="c1", duration=300)]
    )
    second = run(conn, landing, catalog, H11)
    assert second.stale_hours == 1
    assert values(conn, "dur", "occurred_at, value_num") == [
        ("c1", datetime(2026, 11, 20, 11, 5), 300.0),
        ("c2", datetime(2026, 11, 20, 10, 30), 7.0),
    ]
    # the old snapshot's other metrics leave with it, even one the new snapshot no longer has
    assert values(conn, "st", "occurred_at") == []
    assert conn.execute("SELECT workspace_id, period_start FROM ops.stale_periods").fetchall() == [
        ("ws_test", datetime(2026, 11, 20, 10, 0))
    ]

    # re-running 10:00 does not bring the superseded snapshot back
    third = run(conn, landing, catalog, H10)
    assert third.entities == 1
    assert [r[0] for r in values(conn, "dur")] == ["c1", "c2"]
    assert conn.execute("SELECT count(*) FROM metrics.metric_values WHERE entity_id = 'c1'").fetchone() == (1,)


def test_window_run_late_skips_a_conversation_superseded_later(
    conn: duckdb.DuckDBPyConnection, landing: Path, tmp_path: Path
) -> None:
    catalog = write_defs(tmp_path / "defs", builtin=[metric("dur", "numerical", "$.duration")])
    write_landing(
        landing,
        "call_intelligence/c.jsonl",
        [
            event("v1", "2026-11-20T10:20:00Z", id="c1", duration=100),
            event("v2", "2026-11-20T11:05:00Z", id="c1", duration=300),
        ],
    )
    ingest_window(conn, landing, H11)
    run(conn, landing, catalog, H10)  # 11:00 is already ingested: c1 belongs there
    assert values(conn, "dur") == []
    extract_window(conn, catalog, H11)
    assert values(conn, "dur", "occurred_at, value_num") == [("c1", datetime(2026, 11, 20, 11, 5), 300.0)]
    assert conn.execute("SELECT count(*) FROM ops.stale_periods").fetchone() == (0,)


def test_supersession_across_midnight_marks_the_previous_day(
    conn: duckdb.DuckDBPyConnection, landing: Path, tmp_path: Path
) -> None:
    catalog = write_defs(tmp_path / "defs", builtin=[metric("dur", "numerical", "$.duration")])
    write_landing(landing, "call_intelligence/a.jsonl", [event("v1", "2026-11-20T23:50:00Z", id="c1", duration=1)])
    run(conn, landing, catalog, TimeWindow(hour("2026-11-20 23:00"), hour("2026-11-21 00:00")))
    write_landing(landing, "call_intelligence/b.jsonl", [event("v2", "2026-11-21T00:10:00Z", id="c1", duration=2)])
    run(conn, landing, catalog, TimeWindow(hour("2026-11-21 00:00"), hour("2026-11-21 01:00")))
    assert conn.execute("SELECT period_start FROM ops.stale_periods").fetchall() == [(datetime(2026, 11, 20, 23),)]
    assert values(conn, "dur", "occurred_at") == [("c1", datetime(2026, 11, 21, 0, 10))]


def test_non_conversation_events_are_their_own_entities(
    conn: duckdb.DuckDBPyConnection, landing: Path, tmp_path: Path
) -> None:
    catalog = write_defs(
        tmp_path / "defs",
        builtin=[metric("score", "numerical", "$.score", source="emotion_events")],
    )
    write_landing(
        landing,
        "emotion_events/e.jsonl",
        [
            event("em1", "2026-11-20T10:20:00Z", source="emotion_events", id="c1", score=0.2),
            event("em2", "2026-11-20T10:40:00Z", source="emotion_events", id="c1", score=0.9),
        ],
    )
    run(conn, landing, catalog)
    # data.id on other sources is not a conversation: both events count
    assert values(conn, "score", "entity_type, value_num") == [("em1", "event", 0.2), ("em2", "event", 0.9)]


def test_rerun_under_a_new_definition_version_replaces_the_static_rows(
    conn: duckdb.DuckDBPyConnection, landing: Path, tmp_path: Path
) -> None:
    old = write_defs(tmp_path / "old", builtin=[metric("q", "numerical", "$.q", valid_range_max=1000)])
    new = write_defs(tmp_path / "new", builtin=[metric("q", "numerical", "$.q", valid_range_max=100)])
    renamed = write_defs(
        tmp_path / "renamed", builtin=[metric("q", "numerical", "$.q", valid_range_max=100, name="Quality")]
    )
    v_old, v_new = (c.builtins[0].definition.definition_version for c in (old, new))
    assert v_old != v_new
    assert renamed.builtins[0].definition.definition_version == v_new  # a name does not change static values

    calls(landing, {"q": 50}, {"q": 500})
    run(conn, landing, old)
    assert conn.execute("SELECT DISTINCT definition_version FROM metrics.metric_values").fetchall() == [(v_old,)]
    run(conn, landing, new)
    run(conn, landing, renamed)
    # static values are recomputed, not kept: a narrower scope must not leave old-version values behind
    assert conn.execute(
        "SELECT definition_version, entity_id, value_num, status FROM metrics.metric_values ORDER BY 1, 2"
    ).fetchall() == [(v_new, "c0", 50.0, "ok"), (v_new, "c1", 500.0, "out_of_range")]


def test_narrower_scope_leaves_no_old_values(conn: duckdb.DuckDBPyConnection, landing: Path, tmp_path: Path) -> None:
    everywhere = write_defs(tmp_path / "all", builtin=[metric("q", "numerical", "$.q")])
    voice_only = write_defs(tmp_path / "voice", builtin=[metric("q", "numerical", "$.q", channel_scope="voice")])
    write_landing(
        landing,
        "call_intelligence/a.jsonl",
        [
            event("e1", T10, id="c1", channel="voice", q=1),
            event("e2", "2026-11-20T10:20:00Z", id="c2", channel="text", q=2),
        ],
    )
    run(conn, landing, everywhere)
    run(conn, landing, voice_only)
    assert conn.execute("SELECT entity_id FROM metrics.metric_values").fetchall() == [("c1",)]


@pytest.mark.parametrize("metric_type", ["numerical", "categorical", "boolean", "text", "list"])
def test_missing_required_has_no_value_for_any_type(
    conn: duckdb.DuckDBPyConnection, landing: Path, tmp_path: Path, metric_type: str
) -> None:
    catalog = write_defs(tmp_path / "defs", builtin=[metric("m", metric_type, "$.absent", is_required=True)])
    calls(landing, {"other": 1})
    run(conn, landing, catalog)
    assert values(conn, "m", "metric_type, value_num, value_text, value_bool, value_list, status") == [
        ("c0", metric_type, None, None, None, None, "missing")
    ]
