"""Calibration end to end: labelled conversations in a warehouse, `calibrate` through the cache, ops.calibrations,
and the gate that keeps a version below its minimum out of aggregates and post-call records."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import duckdb
import pytest
import yaml

from metricstore.aggregate import aggregate_window
from metricstore.calibration.gate import check_gates, gate_state
from metricstore.calibration.labels import LabelsFileError, read_labels
from metricstore.calibration.run import CalibrationError, calibrate
from metricstore.catalog import write_catalog_table
from metricstore.catalog_loader import MetricCatalog, load_catalog
from metricstore.config import Settings
from metricstore.definitions import MetricDefinition
from metricstore.evaluation.run import evaluate_window
from metricstore.extract import extract_window
from metricstore.ingest import ingest_window
from metricstore.post_call import post_call_record
from metricstore.testing import FakeClaude
from metricstore.windows import TimeWindow
from tests.conftest import REPO, event, hour, write_landing

WINDOW = TimeWindow(hour("2026-11-20 12:00"), hour("2026-11-20 13:00"))
ANGRY = "This is terrible. I am furious, the worst service I have ever had, and nobody helps me!"
HAPPY = "Thank you so much, that was wonderful and fast. Great help, I love it!"
MOOD = {"key": "mood", "name": "Mood", "metric_type": "categorical", "extraction_mode": "ai_sentiment"}
CALLBACK = {
    "key": "callback_asked",
    "name": "Callback asked",
    "metric_type": "boolean",
    "extraction_mode": "ai_query",
    "model_tier": "fast",
    "ai_query_prompt": "Did the customer ask for a callback?",
    "aggregation": "rate",
}


def catalog_with(root: Path, *metrics: dict[str, Any]) -> MetricCatalog:
    (root / "builtin").mkdir(parents=True, exist_ok=True)
    (root / "workspaces" / "ws_test").mkdir(parents=True, exist_ok=True)
    (root / "workspaces" / "ws_test" / "ai.yaml").write_text(yaml.safe_dump({"metrics": list(metrics)}))
    return load_catalog(root)


def write_labels(path: Path, lines: list[dict[str, Any] | str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n")
    return path


@pytest.fixture
def warehouse(conn: duckdb.DuckDBPyConnection, landing: Path) -> duckdb.DuckDBPyConnection:
    """Six conversations: c0–c2 angry, c3–c5 happy."""
    lines = [
        event(
            f"e{i}",
            f"2026-11-20T12:{10 + i:02d}:00Z",
            id=f"c{i}",
            transcription=[
                {"role": "user", "content": ANGRY if i < 3 else HAPPY},
                {"role": "assistant", "content": "I see."},
            ],
        )
        for i in range(6)
    ]
    write_landing(landing, "call_intelligence/h12.jsonl", lines)
    ingest_window(conn, landing, WINDOW)
    return conn


def truth(i: int) -> str:
    return "negative" if i < 3 else "positive"


def mood(catalog: MetricCatalog) -> MetricDefinition:
    return next(d.definition for d in catalog.definitions_for("ws_test") if d.definition.key == "mood")


def test_calibrate_reports_figures_refuses_bad_lines_and_costs_nothing_the_second_time(
    warehouse: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    catalog = catalog_with(tmp_path / "defs", MOOD)
    labels_file = write_labels(
        tmp_path / "labels.jsonl",
        [
            *({"conversation_id": f"c{i}", "expected": truth(i)} for i in range(6)),
            "{not json",
            {"conversation_id": "c1", "expected": "negative"},  # twice by the same (no) rater
            {"conversation_id": "c9", "expected": "neutral"},  # not in the warehouse
            {"conversation_id": "c2", "expected": "furious", "rater": "x"},  # not a label of the metric
        ],
    )
    labels = read_labels(labels_file, mood(catalog))
    assert [line for line, _ in labels.refused] == [7, 8, 10]
    assert "not one of the metric's labels" in labels.refused[2][1]

    first = calibrate(warehouse, "ws_test", mood(catalog), labels)
    assert first.labelled == 7 and first.unknown == ["c9"]
    assert first.agreement.figures["accuracy"].value == 1.0
    assert first.agreement.figures["accuracy"].n == 6
    assert first.agreement.confusion["negative"]["negative"] == 3
    assert first.cached == 0
    stored = warehouse.execute("SELECT count(*) FROM ops.llm_cache WHERE metric_key = 'mood'").fetchone()
    assert stored == (6,)

    second = calibrate(warehouse, "ws_test", mood(catalog), labels)
    assert second.cached == 6 and second.calls == 0
    assert second.agreement.figures == first.agreement.figures
    rows = warehouse.execute(
        "SELECT definition_version, labelled, refused_lines, unknown_conversations, figures->>'$.accuracy.value' "
        "FROM ops.calibrations ORDER BY created_at"
    ).fetchall()
    assert rows == [(mood(catalog).definition_version, 7, 3, 1, "1.0")] * 2
    # calibration writes no metric values: the job's stay the job's
    assert warehouse.execute("SELECT count(*) FROM metrics.metric_values").fetchone() == (0,)


def test_several_raters_give_a_consensus_and_a_ceiling(warehouse: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    catalog = catalog_with(tmp_path / "defs", MOOD)
    lines: list[dict[str, Any] | str] = [
        {"conversation_id": f"c{i}", "expected": truth(i), "rater": "ana"} for i in range(6)
    ]
    # ben disagrees on c0 and c3
    lines += [
        {"conversation_id": f"c{i}", "expected": "neutral" if i in (0, 3) else truth(i), "rater": "ben"}
        for i in range(6)
    ]
    lines += [{"conversation_id": "c0", "expected": "negative", "rater": "cy"}]
    labels = read_labels(write_labels(tmp_path / "labels.jsonl", lines), mood(catalog))
    assert labels.consensus("categorical")["c0"] == "negative"  # 2 of 3
    result = calibrate(warehouse, "ws_test", mood(catalog), labels)
    assert result.raters == 3
    assert result.ceiling["accuracy"].value is not None
    assert result.ceiling["accuracy"].value < 1.0


def test_a_claude_tier_calibration_is_billed_once(warehouse: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    catalog = catalog_with(tmp_path / "defs", CALLBACK)
    metric = catalog.definitions_for("ws_test")[-1].definition
    labels = read_labels(
        write_labels(tmp_path / "l.jsonl", [{"conversation_id": f"c{i}", "expected": i % 2 == 0} for i in range(6)]),
        metric,
    )
    with pytest.raises(CalibrationError, match="ANTHROPIC_API_KEY"):
        calibrate(warehouse, "ws_test", metric, labels, client_factory=lambda: None)
    with FakeClaude() as fake:

        def client() -> anthropic.AsyncAnthropic:
            return anthropic.AsyncAnthropic(base_url=fake.base_url, api_key="test-key", max_retries=0)

        first = calibrate(warehouse, "ws_test", metric, labels, client_factory=client, run_id="cal-1")
        assert first.calls == 6 and len(fake.message_requests) == 6
        again = calibrate(warehouse, "ws_test", metric, labels, client_factory=client)
        assert again.calls == 0 and len(fake.message_requests) == 6
    assert set(first.agreement.figures) == {"precision", "recall", "f1", "kappa", "coverage"}
    calls = warehouse.execute("SELECT count(*), count(DISTINCT call_id) FROM ops.llm_calls").fetchone()
    assert calls == (6, 6)


def gated(minimum: float, min_labelled: int = 6) -> dict[str, Any]:
    gate = {"labels": "labels/mood.jsonl", "min_agreement": minimum, "min_labelled": min_labelled}
    return {**MOOD, "aggregation": "count", "calibration": gate}


def test_a_version_below_its_minimum_is_held_back_and_one_above_it_is_live(
    warehouse: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    root = tmp_path / "defs"
    catalog = catalog_with(root, gated(0.8))
    write_catalog_table(warehouse, catalog)
    extract_window(warehouse, catalog, WINDOW)
    evaluate_window(warehouse, catalog, WINDOW, client_factory=lambda: None)
    labels = root / "workspaces" / "ws_test" / "labels" / "mood.jsonl"

    # labels that disagree with every answer: κ below 0.8, the version is held back
    write_labels(labels, [{"conversation_id": f"c{i}", "expected": truth(5 - i)} for i in range(6)])
    (state,) = check_gates(warehouse, catalog, root, client_factory=lambda: None)
    assert not state.live and "held back: kappa" in state.reason and "< 0.8" in state.reason
    aggregate_window(warehouse, catalog, WINDOW)
    assert _mood_count(warehouse) is None
    assert "mood" not in post_call_record(warehouse, catalog, "ws_test", call_id="c0").call_data.custom_metrics

    # right labels (a new file: a new calibration): live, and the hours it holds values in are recomputed
    write_labels(labels, [{"conversation_id": f"c{i}", "expected": truth(i)} for i in range(6)])
    (state,) = check_gates(warehouse, catalog, root, client_factory=lambda: None)
    assert state.live and state.value == 1.0
    assert warehouse.execute("SELECT count(*) FROM ops.stale_periods").fetchone() == (1,)
    aggregate_window(warehouse, catalog, TimeWindow(hour("2026-11-20 15:00"), hour("2026-11-20 16:00")))
    assert _mood_count(warehouse) == 6.0  # the stale hour 12:00, recomputed by a later window's run
    record = post_call_record(warehouse, catalog, "ws_test", call_id="c0")
    assert record.call_data.custom_metrics["mood"].value == "negative"
    assert warehouse.execute("SELECT count(*) FROM ops.calibrations").fetchone() == (2,)


def test_a_gate_stands_on_enough_labels_and_on_the_model_its_tier_runs_on_now(
    warehouse: duckdb.DuckDBPyConnection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import metricstore.evaluation.pending as pending

    root = tmp_path / "defs"
    catalog = catalog_with(root, gated(0.8, min_labelled=30))  # 30: the default
    write_catalog_table(warehouse, catalog)
    extract_window(warehouse, catalog, WINDOW)
    evaluate_window(warehouse, catalog, WINDOW, client_factory=lambda: None)
    labels = root / "workspaces" / "ws_test" / "labels" / "mood.jsonl"
    write_labels(labels, [*({"conversation_id": f"c{i}", "expected": truth(i)} for i in range(6)), "not json"])
    (state,) = check_gates(warehouse, catalog, root, client_factory=lambda: None)
    assert not state.live and state.value == 1.0  # every label right, but on 6 conversations
    assert "on 6 of 6 labelled conversations; 1 line of the file refused" in state.reason
    assert "at least 30 (min_labelled)" in state.reason

    catalog = catalog_with(root, gated(0.8))
    (state,) = check_gates(warehouse, catalog, root, client_factory=lambda: None)
    assert state.live
    # the free tier answers by another method now: its old calibration no longer decides, the run calibrates again
    monkeypatch.setattr(pending, "LOCAL_MODEL", "local/next")
    (loaded,) = catalog.definitions_for("ws_test")
    state = gate_state(warehouse, root, "ws_test", loaded, calibrate_missing=False)
    assert not state.live and "not calibrated on labels/mood.jsonl with local/next yet" in state.reason
    (state,) = check_gates(warehouse, catalog, root, client_factory=lambda: None)
    assert state.live
    models = warehouse.execute("SELECT model, count(*) FROM ops.calibrations GROUP BY 1 ORDER BY 1").fetchall()
    assert [m for m, _ in models][-1] == "local/next" and len(models) == 2


def test_a_missing_labels_file_holds_back_that_metric_only(
    warehouse: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    root = tmp_path / "defs"
    catalog = catalog_with(root, gated(0.5), {**MOOD, "key": "mood_free", "aggregation": "count"})
    (state,) = check_gates(warehouse, catalog, root, client_factory=lambda: None)
    assert not state.live and "labels/mood.jsonl is not in the workspace's folder" in state.reason


def test_gate_fields_are_validated() -> None:
    base = {**MOOD, "calibration": {"labels": "labels/mood.jsonl", "min_agreement": 0.5}}
    MetricDefinition.model_validate(base)
    bad = [
        ({**base, "calibration": {"labels": "../x.jsonl", "min_agreement": 0.5}}, "calibration.labels"),
        ({**base, "calibration": {"labels": "a.jsonl", "min_agreement": 0.5, "measure": "mae"}}, "not a categorical"),
        ({**base, "calibration": {"labels": "a.jsonl", "min_agreement": -0.2, "measure": "accuracy"}}, "share"),
        ({**base, "calibration": {"labels": "a.jsonl", "min_agreement": 1.5}}, "min_agreement"),
        (
            {"key": "n", "name": "N", "metric_type": "numerical", "extraction_mode": "static", "extract_path": "$.x",
             "calibration": {"labels": "a.jsonl", "min_agreement": 0.5}},
            r"only ai_\* metrics",
        ),
    ]  # fmt: skip
    for definition, message in bad:
        with pytest.raises(ValueError, match=message):
            MetricDefinition.model_validate(definition)


def _mood_count(conn: duckdb.DuckDBPyConnection) -> float | None:
    row = conn.execute(
        "SELECT value FROM metrics.metric_aggregates WHERE metric_key = 'mood' AND granularity = 'hourly' "
        "AND period_start = '2026-11-20 12:00'"
    ).fetchone()
    return None if row is None else float(row[0])


@pytest.fixture(autouse=True)
def _no_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    yield


def test_the_calibrate_command_prints_figures_and_json(
    warehouse: duckdb.DuckDBPyConnection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from metricstore.cli import main

    root = tmp_path / "defs"
    catalog_with(root, gated(0.5))
    labels = write_labels(
        root / "workspaces" / "ws_test" / "labels" / "mood.jsonl",
        [{"conversation_id": f"c{i}", "expected": truth(i)} for i in range(6)] + ["oops"],
    )
    warehouse.close()
    monkeypatch.setenv("METRICSTORE_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("METRICSTORE_METRIC_DEFS", str(root))
    runner = CliRunner()
    shown = runner.invoke(main, ["calibrate", "mood", "--labels", str(labels)])  # the workspace found from the ids
    assert shown.exit_code == 0, shown.output
    assert re.search(r"^accuracy\s+1\.000\s+\[1\.000, 1\.000\]\s+6$", shown.output, re.M), shown.output
    assert "refused: line 7: not JSON" in shown.output
    assert "gate: live: kappa 1.000 ≥ 0.5 on 6 of 6 labelled conversations" in shown.output
    as_json = runner.invoke(main, ["calibrate", "mood", "--workspace", "ws_test", "--json"])  # the gate's file
    body = json.loads(as_json.output)
    assert body["figures"]["kappa"]["value"] == 1.0 and body["cached"] == 6 and body["gate"]["live"]
    missing = runner.invoke(main, ["calibrate", "nope", "--workspace", "ws_test"])
    assert missing.exit_code == 2 and "no metric 'nope'" in missing.output
    with_unknown = write_labels(
        tmp_path / "unknown.jsonl",
        [
            *({"conversation_id": f"c{i}", "expected": truth(i)} for i in range(6)),
            {"conversation_id": "c9", "expected": "neutral"},
        ],
    )
    counted = runner.invoke(main, ["calibrate", "mood", "--workspace", "ws_test", "--labels", str(with_unknown)])
    assert "7 labelled conversations (1 not in the warehouse)" in counted.output, counted.output
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes(b'{"conversation_id": "c0", "expected": "caf\xe9"}\n')
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    for labels_file, reason in [
        (latin, "is not UTF-8 text (byte 42"),
        (empty, "names no conversation"),
        (tmp_path / "absent.jsonl", "no labels file"),
    ]:
        for workspace in ([], ["--workspace", "ws_test"]):
            refused = runner.invoke(main, ["calibrate", "mood", "--labels", str(labels_file), *workspace])
            if workspace and labels_file == empty:
                reason = "holds no usable label"
            assert refused.exit_code == 2 and reason in refused.output, refused.output
            assert isinstance(refused.exception, SystemExit)  # no traceback


def test_a_labels_file_is_read_strictly_and_refused_with_its_reason(tmp_path: Path) -> None:
    catalog = catalog_with(tmp_path / "defs", MOOD)
    csv_file = tmp_path / "labels.csv"
    csv_file.write_text(
        " Conversation_ID , Expected ,Rater\n"  # any case, spaces around the names
        "c0,negative,ana\n"
        "c1\n"  # fewer fields than the header: not "no value expected"
        "c2,negative,ana,extra\n"  # more
        "c3,positive,\n"
    )
    labels = read_labels(csv_file, mood(catalog))
    assert [label.conversation_id for label in labels.labels] == ["c0", "c3"]
    assert labels.refused == [(3, "1 fields where the header names 3"), (4, "4 fields where the header names 3")]
    latin = tmp_path / "latin.csv"
    latin.write_bytes("conversation_id,expected\nc0,caf\u00e9\n".encode("latin-1"))
    with pytest.raises(LabelsFileError, match="not UTF-8 text"):
        read_labels(latin, mood(catalog))

    number = MetricDefinition.model_validate({**MOOD, "key": "n", "metric_type": "numerical"})
    numbers = [{"conversation_id": "c0", "expected": v} for v in ("7", "nan", "inf", 2.5)]
    read = read_labels(write_labels(tmp_path / "n.jsonl", numbers), number)
    assert [label.expected for label in read.labels] == [7.0]  # "nan", "inf" refused; 2.5: c0 twice
    assert [why for _, why in read.refused][:2] == ["'nan' is not a finite number", "'inf' is not a finite number"]

    reasons = MetricDefinition.model_validate(
        {
            **MOOD,
            "key": "r",
            "metric_type": "list",
            "extraction_mode": "ai_classify",
            "ai_labels": ["billing", "booking"],
        }
    )
    lists = [
        {"conversation_id": "c0", "expected": "billing,booking"},
        {"conversation_id": "c1", "expected": ["billing"]},
        {"conversation_id": "c2", "expected": "billing; refunds"},
    ]
    read = read_labels(write_labels(tmp_path / "l.jsonl", lists), reasons)
    assert [label.expected for label in read.labels] == [["billing", "booking"], ["billing"]]
    assert read.refused == [(3, "['refunds'] not among the metric's labels (billing, booking)")]


def test_a_calibration_on_none_of_the_warehouses_conversations_is_refused_not_stored(
    warehouse: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    catalog = catalog_with(tmp_path / "defs", MOOD)
    labels = read_labels(
        write_labels(tmp_path / "x.jsonl", [{"conversation_id": "zz", "expected": "positive"}]), mood(catalog)
    )
    with pytest.raises(CalibrationError, match="none of the 1 labelled conversations is in workspace ws_test"):
        calibrate(warehouse, "ws_test", mood(catalog), labels)
    assert warehouse.execute("SELECT count(*) FROM ops.calibrations").fetchone() == (0,)


def test_the_catalog_and_defs_validate_show_calibrations_and_gates(
    warehouse: duckdb.DuckDBPyConnection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from metricstore.cli import main
    from metricstore.published import open_published, publish
    from metricstore.query import catalog_entries

    root = tmp_path / "defs"
    catalog = catalog_with(root, gated(0.9), {**MOOD, "key": "mood_open", "aggregation": "count"})
    one_wrong = [{"conversation_id": cid, "expected": "positive"} for cid in ("c0", "c3")]
    write_labels(root / "workspaces" / "ws_test" / "labels" / "mood.jsonl", one_wrong)
    check_gates(warehouse, catalog, root, client_factory=lambda: None)
    write_catalog_table(warehouse, catalog)
    settings_env = {"METRICSTORE_WAREHOUSE": str(tmp_path / "warehouse.duckdb"), "METRICSTORE_METRIC_DEFS": str(root)}
    for name, value in settings_env.items():
        monkeypatch.setenv(name, value)
    published = tmp_path / "published" / "warehouse.duckdb"
    publish(warehouse, published)
    with open_published(Settings.from_env()) as reader:
        entries = {m.key: m for m in catalog_entries(reader, catalog, "ws_test").metrics}
    assert entries["mood"].gate is not None and not entries["mood"].gate.live
    assert entries["mood"].calibration is not None
    assert entries["mood"].calibration.figures["accuracy"].value == 0.5
    assert entries["mood"].calibration.figures["accuracy"].n == 2
    assert entries["mood_open"].gate is None and entries["mood_open"].calibration is None
    assert entries["mood"].gate.reason.startswith("held back: kappa 0.000 < 0.9 on 2 of 2")
    shown = CliRunner().invoke(main, ["defs", "validate"])
    assert shown.exit_code == 0, shown.output
    assert re.search(r"gate ws_test/mood v\w+: held back: kappa 0\.000 < 0\.9 on 2 of 2", shown.output), shown.output

    # the gate changes, the version does not: readers no longer show the last run's verdict as the gate's
    changed = catalog_with(root, gated(0.1), {**MOOD, "key": "mood_open", "aggregation": "count"})
    assert changed.definitions_for("ws_test")[0].definition.definition_version == entries["mood"].definition_version
    with open_published(Settings.from_env()) as reader:
        gate = next(m for m in catalog_entries(reader, changed, "ws_test").metrics if m.key == "mood").gate
    assert gate is not None and not gate.live and gate.minimum == 0.1
    assert gate.reason == "held back: the gate changed since the last run checked it (the next run checks it again)"


def test_the_ai_asset_reports_held_back_gates_in_a_check(
    landing: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagster import materialize

    from assets.ai import ai_metric_values
    from assets.ingestion import landed_events
    from assets.metrics import metric_values
    from assets.resources import MetricStoreResource

    lines = [
        event(
            f"e{i}", f"2026-11-20T12:{10 + i:02d}:00Z", id=f"c{i}", transcription=[{"role": "user", "content": HAPPY}]
        )
        for i in range(3)
    ]
    write_landing(landing, "call_intelligence/h12.jsonl", lines)
    root = tmp_path / "defs"
    shutil.copytree(REPO / "metric_defs" / "builtin", root / "builtin")
    catalog_with(root, gated(0.5))  # its labels file is missing: held back, with the reason
    resource = MetricStoreResource(warehouse=str(tmp_path / "wh.duckdb"), landing=str(landing), metric_defs=str(root))
    result = materialize(
        [landed_events, metric_values, ai_metric_values],
        partition_key="2026-11-20-12:00",
        resources={"metricstore": resource},
    )
    assert result.success
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    gate = checks["calibration_gates_pass"]
    assert not gate.passed and gate.metadata["held_back"].value == 1
    assert "labels/mood.jsonl is not in the workspace's folder" in str(gate.metadata["gates"].value)


def test_a_command_away_from_its_definitions_says_where_it_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from metricstore.cli import main

    monkeypatch.setenv("METRICSTORE_METRIC_DEFS", str(tmp_path / "nowhere"))
    monkeypatch.setenv("METRICSTORE_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    result = CliRunner().invoke(main, ["calibrate", "mood", "--workspace", "ws_test", "--labels", "x.jsonl"])
    assert result.exit_code == 1, result.output
    assert f"no metric definitions folder at {tmp_path / 'nowhere'}" in result.output  # not "1 invalid definition"
