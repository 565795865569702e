"""The warehouse schema: ENUM vocabularies of metrics.metric_values, and warehouses made before them."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import get_args

import duckdb
import pytest

from metricstore.definitions import ChannelScope, MetricType
from metricstore.evaluation.base import Status
from metricstore.warehouse import ENUM_COLUMNS, connect

ROW = ("ws", "m", "numerical", "conversation", "c1", "voice", "inbound", "production", "ok")
INSERT = (
    "INSERT INTO metrics.metric_values (workspace_id, metric_key, metric_type, entity_type, entity_id, channel, "
    "direction, source, status, occurred_at, definition_version, evaluated_at, value_num) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, TIMESTAMP '2026-11-20 10:00', 'v1', TIMESTAMP '2026-11-20 11:00', 3.5)"
)


def _types(conn: duckdb.DuckDBPyConnection) -> dict[str, str]:
    rows = conn.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'metrics' AND table_name = 'metric_values'"
    ).fetchall()
    return dict(rows)


def test_a_warehouse_with_text_columns_is_converted_and_keeps_its_values(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    old = duckdb.connect(str(path))
    old.execute("CREATE SCHEMA metrics")
    old.execute(
        "CREATE TABLE metrics.metric_values (workspace_id VARCHAR, metric_key VARCHAR, metric_type VARCHAR, "
        "entity_type VARCHAR, entity_id VARCHAR, session_id VARCHAR, service_id VARCHAR, channel VARCHAR, "
        "direction VARCHAR, source VARCHAR, occurred_at TIMESTAMP, value_num DOUBLE, value_text VARCHAR, "
        "value_bool BOOLEAN, value_list VARCHAR[], status VARCHAR, rationale VARCHAR, model VARCHAR, "
        "input_tokens BIGINT, output_tokens BIGINT, cost_usd DOUBLE, definition_version VARCHAR, "
        "evaluated_at TIMESTAMP)"
    )
    old.execute(INSERT, list(ROW))
    old.close()

    conn = connect(path)
    types = _types(conn)
    assert all(types[column].startswith("ENUM(") for column in ENUM_COLUMNS)
    assert conn.execute(
        "SELECT workspace_id, metric_key, metric_type, entity_type, entity_id, channel, direction, source, status, "
        "value_num, occurred_at FROM metrics.metric_values"
    ).fetchall() == [(*ROW, 3.5, datetime(2026, 11, 20, 10))]
    conn.close()
    assert _types(connect(path)) == types  # converted once: a second connect changes nothing


def test_enum_columns_read_and_filter_as_text_and_refuse_other_values(tmp_path: Path) -> None:
    conn = connect(tmp_path / "w.duckdb")
    conn.execute(INSERT, list(ROW))
    assert conn.execute("SELECT status || '!' FROM metrics.metric_values WHERE status = 'ok'").fetchall() == [("ok!",)]
    assert conn.execute("SELECT count(*) FROM metrics.metric_values WHERE status = 'unknown'").fetchall() == [(0,)]
    with pytest.raises(duckdb.ConversionException):
        conn.execute(INSERT, [*ROW[:-1], "great"])


def test_enum_vocabularies_match_the_code(tmp_path: Path) -> None:
    conn = connect(tmp_path / "w.duckdb")

    def values(type_name: str) -> set[str]:
        return {r[0] for r in conn.execute(f"SELECT unnest(enum_range(NULL::{type_name}))").fetchall()}

    assert values("metric_type_t") == set(get_args(MetricType))
    assert values("channel_t") | {"all", "inbound", "outbound"} == set(get_args(ChannelScope))
    assert values("direction_t") == {"inbound", "outbound"}
    stored_statuses = set(get_args(Status)) - {"error", "skipped"}  # AI errors and skips are never stored
    assert values("value_status_t") == stored_statuses | {"missing", "invalid"}  # + the static path's own
