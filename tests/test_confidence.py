"""Confidence per AI value: stored beside the value, a definition's min_confidence gives the values below it a
status of their own (kept, left out of aggregates, counted), and older warehouses gain the status."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from metricstore.aggregate import aggregate_window
from metricstore.definitions import MetricDefinition
from metricstore.evaluation import run
from metricstore.evaluation.base import Conversation, Evaluation
from metricstore.evaluation.local import LocalEvaluator
from metricstore.evaluation.run import evaluate_window
from metricstore.warehouse import connect, sql_text
from tests.test_ai_run import H12, MOOD, catalog_with, conversations, prepare

# how sure the stub evaluator is, by the conversation's last digit
SURE = {"0": 0.9, "1": 0.2, "2": 0.55}


class _SureEvaluator(LocalEvaluator):
    def evaluate_one(self, conversation: Conversation, metric: MetricDefinition) -> Evaluation:
        evaluation = super().evaluate_one(conversation, metric)
        evaluation.confidence = SURE[conversation.conversation_id[-1]]
        return evaluation


def test_values_below_min_confidence_are_kept_apart_and_left_out_of_aggregates(
    conn: duckdb.DuckDBPyConnection, landing: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(run, "LocalEvaluator", _SureEvaluator)
    catalog = catalog_with(tmp_path, {**MOOD, "aggregation": "count", "min_confidence": 0.5})
    conversations(landing, 3)
    prepare(conn, landing, catalog, H12)
    result = evaluate_window(conn, catalog, H12, client_factory=lambda: None)
    assert (result.evaluated, result.low_confidence) == (3, 1)
    rows = conn.execute(
        "SELECT entity_id, status::VARCHAR, confidence, value_text IS NOT NULL FROM metrics.metric_values "
        "WHERE metric_key = 'mood' ORDER BY entity_id"
    ).fetchall()
    assert [(r[1], r[2], r[3]) for r in rows] == [("ok", 0.9, True), ("low_confidence", 0.2, True), ("ok", 0.55, True)]
    aggregate_window(conn, catalog, H12)
    counted = conn.execute(
        "SELECT value, sample_count FROM metrics.metric_aggregates WHERE metric_key = 'mood' AND granularity = 'hourly'"
    ).fetchone()
    assert counted == (2.0, 2)


def test_min_confidence_is_for_free_tier_ai_metrics_and_changes_the_version() -> None:
    plain = MetricDefinition.model_validate(MOOD)
    strict = MetricDefinition.model_validate({**MOOD, "min_confidence": 0.6})
    assert strict.definition_version != plain.definition_version
    static = {"key": "q", "name": "Q", "metric_type": "numerical", "extraction_mode": "static", "extract_path": "$.q"}
    with pytest.raises(ValueError, match="min_confidence needs model_tier free"):
        MetricDefinition.model_validate({**static, "min_confidence": 0.5})
    prompt = {"ai_query_prompt": "Rate it", "model_tier": "fast", "extraction_mode": "ai_query"}
    with pytest.raises(ValueError, match="min_confidence needs model_tier free"):
        MetricDefinition.model_validate({**MOOD, **prompt, "metric_type": "numerical", "min_confidence": 0.5})
    with pytest.raises(ValueError, match="less than or equal to 1"):
        MetricDefinition.model_validate({**MOOD, "min_confidence": 1.5})


def test_a_warehouse_made_before_low_confidence_gains_the_status(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    old_schema = sql_text("schema.sql").replace(
        "'ok', 'out_of_range', 'missing', 'invalid', 'not_applicable', 'low_confidence'",
        "'ok', 'out_of_range', 'missing', 'invalid', 'not_applicable'",
    )
    with duckdb.connect(str(path)) as old:
        for statement in old_schema.split(";\n"):
            if statement.strip() and "confidence" not in statement.split("--")[0]:
                old.execute(statement)
        old.execute(
            "INSERT INTO metrics.metric_values (workspace_id, metric_key, metric_type, entity_type, entity_id, source, "
            "occurred_at, value_text, status, definition_version, evaluated_at) VALUES ('w', 'm', 'categorical', "
            "'conversation', 'c1', 'production', '2026-11-20 12:00', 'positive', 'not_applicable', 'v1', "
            "'2026-11-20 12:05')"
        )
        assert "low_confidence" not in old.execute("SELECT enum_range(NULL::value_status_t)").fetchone()[0]
    with connect(path) as conn:
        assert "low_confidence" in conn.execute("SELECT enum_range(NULL::value_status_t)").fetchone()[0]
        assert conn.execute("SELECT status::VARCHAR, confidence FROM metrics.metric_values").fetchall() == [
            ("not_applicable", None)
        ]
        column = conn.execute(
            "SELECT data_type FROM information_schema.columns WHERE table_name = 'metric_values' "
            "AND column_name = 'status'"
        ).fetchone()
        assert column is not None and column[0].startswith("ENUM")
