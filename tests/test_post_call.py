"""The post-call record (metricstore.post_call): snapshot fields, default metrics as computed, custom metrics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from metricstore.aggregate import aggregate_window
from metricstore.catalog_loader import MetricCatalog
from metricstore.extract import extract_window
from metricstore.ingest import ingest_window
from metricstore.post_call import POST_CALL_TYPES, PostCallRecord, post_call_field, post_call_record
from metricstore.query import QueryError
from metricstore.windows import TimeWindow
from tests.conftest import event, hour, write_landing
from tests.test_query import WS, add_value, make_catalog

H10 = TimeWindow(hour("2026-11-20 10:00"), hour("2026-11-20 11:00"))
DEFAULT_FIELDS = {
    "summary",
    "intent",
    "sentiment",
    "confidence",
    "keyPoints",
    "actionItems",
    "callStatus",
    "callbackRequired",
    "promisedDate",
    "selfEvaluation",
    "followUpAction",
    "ticketRaised",
}
CALL_1 = {
    "id": "call-1",
    "contactId": "contact-7",
    "agentId": "agent-1",
    "status": "completed",
    "startTime": "2026-11-20T10:00:05Z",
    "duration": 312,
    "phoneNumber": 4915112345678,  # a number in the snapshot: still a string in the record
    "transcription": [{"role": "assistant", "content": "Hello"}, {"role": "user", "content": "My parcel is late."}],
    "summary": "Late parcel; a refund was promised.",
    "intent": "delivery_status",
    "sentiment": "negative",
    "confidence": 1.5,  # out of [0, 1]: the metric drops it
    "keyPoints": ["parcel late", "refund promised"],
    "actionItems": ["send refund"],
    "callbackRequired": True,
    "ticketRaised": False,
    "selfEvaluation": 8,
    "quality_score": 4.5,  # not a call field of the contract: carried as it is
}


def snapshots() -> list[dict[str, Any]]:
    """call-1 (two snapshots: the later wins), call-2 and call-3 of agent-1 (call-3 the most recent), and a
    conversation of another workspace."""
    first = {**CALL_1, "summary": "draft", "status": "in_progress"}
    return [
        event("e1", "2026-11-20T10:05:00Z", **first),
        event("e2", "2026-11-20T10:20:00Z", **CALL_1),
        event("e3", "2026-11-20T10:30:00Z", id="call-2", agentId="agent-1", contactId="contact-8", confidence=0.25),
        event("e4", "2026-11-20T10:40:00Z", id="call-3", agentId="agent-1", contactId="contact-9"),
        event("e5", "2026-11-20T10:50:00Z", workspace_id="ws_other", id="call-x", agentId="agent-1"),
    ]


@pytest.fixture
def built(conn: duckdb.DuckDBPyConnection, landing: Path, tmp_path: Path) -> MetricCatalog:
    catalog = make_catalog(tmp_path / "defs")
    write_landing(landing, "call_intelligence/h10.jsonl", snapshots())
    ingest_window(conn, landing, H10)
    extract_window(conn, catalog, H10)
    aggregate_window(conn, catalog, H10)
    return catalog


def version(catalog: MetricCatalog, key: str) -> str:
    return next(d.definition.definition_version for d in catalog.custom[WS] if d.definition.key == key)


def test_the_record_carries_the_latest_snapshots_call_fields_and_the_computed_default_metrics(
    conn: duckdb.DuckDBPyConnection, built: MetricCatalog
) -> None:
    record = post_call_record(conn, built, WS, call_id="call-1")
    body = record.model_dump(mode="json")
    assert set(body) == {"success", "callData", "metricSchema"} and body["success"] is True
    call = body["callData"]
    assert {k: call[k] for k in ("id", "contactId", "agentId", "status", "startTime", "duration", "phoneNumber")} == {
        "id": "call-1",
        "contactId": "contact-7",
        "agentId": "agent-1",
        "status": "completed",  # the later snapshot's
        "startTime": "2026-11-20T10:00:05Z",
        "duration": 312,
        "phoneNumber": "4915112345678",
    }
    assert call["transcription"][1] == {"role": "user", "content": "My parcel is late."}
    assert call["quality_score"] == 4.5
    # call fields the snapshot does not carry are left out; the default metrics are always there
    assert "recordingUrl" not in call and "endTime" not in call and "contactName" not in call
    assert set(call) >= DEFAULT_FIELDS
    assert call["summary"] == "Late parcel; a refund was promised."  # the later snapshot's, not "draft"
    assert call["keyPoints"] == ["parcel late", "refund promised"]
    assert (call["callbackRequired"], call["ticketRaised"], call["selfEvaluation"]) == (True, False, 8.0)
    assert call["confidence"] is None  # 1.5 is out of range: no value, not the snapshot's raw 1.5
    assert call["promisedDate"] is None and call["followUpAction"] is None  # not in the snapshot
    assert post_call_record(conn, built, WS, call_id="call-2").call_data.confidence == 0.25


def test_post_call_types_follow_the_metric_types(conn: duckdb.DuckDBPyConnection, built: MetricCatalog) -> None:
    schema = post_call_record(conn, built, WS, call_id="call-1").model_dump(mode="json")["metricSchema"]
    assert POST_CALL_TYPES == {
        "numerical": "number",
        "categorical": "string",
        "text": "string",
        "boolean": "boolean",
        "list": "array",
    }
    assert {k: v["type"] for k, v in schema.items()} == {
        "summary": "string",
        "intent": "string",
        "sentiment": "string",
        "confidence": "number",
        "keyPoints": "array",
        "actionItems": "array",
        "callStatus": "string",
        "callbackRequired": "boolean",
        "promisedDate": "string",
        "selfEvaluation": "number",
        "followUpAction": "string",
        "ticketRaised": "boolean",
        "csat": "number",
        "escalated": "boolean",
        "topics": "array",  # the inactive "retired" is not in the record
    }
    assert schema["csat"] == {
        "type": "number",
        "name": "CSAT",
        "description": "Customer satisfaction, 1 to 5.",
        "isRequired": True,
    }


def test_custom_metrics_hold_the_latest_value_under_the_current_version_and_required_ones_without_one(
    conn: duckdb.DuckDBPyConnection, built: MetricCatalog
) -> None:
    at = "2026-11-20 10:20"
    add_value(conn, "escalated", "boolean", "call-1", at, flag=True, version=version(built, "escalated"))
    add_value(conn, "topics", "list", "call-1", at, items=["shipping"], version=version(built, "topics"))
    later = "2026-11-22 00:00"
    add_value(
        conn, "topics", "list", "call-1", at, items=["billing"], version=version(built, "topics"), evaluated_at=later
    )
    # csat has only a value of an older definition version, and one of another conversation
    add_value(conn, "csat", "numerical", "call-1", at, num=2.0, version="v_old")
    add_value(conn, "csat", "numerical", "call-2", at, num=5.0, version=version(built, "csat"))
    custom = post_call_record(conn, built, WS, call_id="call-1").model_dump(mode="json")["callData"]["customMetrics"]
    assert {k: v["value"] for k, v in custom.items()} == {"csat": None, "escalated": True, "topics": ["billing"]}
    assert custom["csat"]["schema"] == {
        "type": "number",
        "name": "CSAT",
        "description": "Customer satisfaction, 1 to 5.",
        "isRequired": True,
    }
    assert custom["escalated"]["schema"]["isRequired"] is False


def test_a_value_that_is_not_ok_is_null(conn: duckdb.DuckDBPyConnection, built: MetricCatalog) -> None:
    at = "2026-11-20 10:20"
    add_value(
        conn,
        "escalated",
        "boolean",
        "call-1",
        at,
        flag=True,
        status="not_applicable",
        version=version(built, "escalated"),
    )
    record = post_call_record(conn, built, WS, call_id="call-1")
    assert record.call_data.custom_metrics["escalated"].value is None


def test_the_most_recent_conversation_of_an_agent_or_a_contact(
    conn: duckdb.DuckDBPyConnection, built: MetricCatalog
) -> None:
    assert post_call_record(conn, built, WS, agent_id="agent-1").call_data.id == "call-3"  # not ws_other's call-x
    assert post_call_record(conn, built, WS, contact_id="contact-8").call_data.id == "call-2"
    assert post_call_record(conn, built, WS, agent_id="agent-1", contact_id="contact-7").call_data.id == "call-1"
    assert post_call_record(conn, built, "ws_other", agent_id="agent-1").call_data.id == "call-x"
    for params in ({"call_id": "call-x"}, {"agent_id": "agent-2"}, {"call_id": "call-1", "agent_id": "agent-9"}):
        with pytest.raises(QueryError) as caught:
            post_call_record(conn, built, WS, **params)
        assert caught.value.kind == "unknown_call"
    with pytest.raises(QueryError) as nothing:
        post_call_record(conn, built, WS)
    assert nothing.value.kind == "invalid_parameter"


def test_default_metrics_off_leaves_them_out_of_the_record(
    conn: duckdb.DuckDBPyConnection, landing: Path, tmp_path: Path
) -> None:
    catalog = make_catalog(tmp_path / "defs", defaults_enabled=False)
    write_landing(landing, "call_intelligence/h10.jsonl", snapshots())
    ingest_window(conn, landing, H10)
    extract_window(conn, catalog, H10)
    body = post_call_record(conn, catalog, WS, call_id="call-1").model_dump(mode="json")
    call = body["callData"]
    assert not DEFAULT_FIELDS & set(call)  # not even the snapshot's own summary or keyPoints
    assert call["contactId"] == "contact-7" and set(call["customMetrics"]) == {"csat", "escalated", "topics"}
    assert set(body["metricSchema"]) == {"csat", "escalated", "topics"}


def test_a_call_field_of_the_wrong_shape_is_left_out(
    conn: duckdb.DuckDBPyConnection, landing: Path, tmp_path: Path
) -> None:
    catalog = make_catalog(tmp_path / "defs")
    write_landing(
        landing, "call_intelligence/h10.jsonl", [event("e1", "2026-11-20T10:05:00Z", id="c9", transcription="hi")]
    )
    ingest_window(conn, landing, H10)
    call = post_call_record(conn, catalog, WS, call_id="c9").model_dump(mode="json")["callData"]
    assert "transcription" not in call and call["id"] == "c9"


def test_default_field_names_come_from_the_snapshot_field_each_metric_reads(built: MetricCatalog) -> None:
    defaults = [d.definition for d in built.builtins if d.definition.post_call_default]
    assert {post_call_field(d) for d in defaults} == DEFAULT_FIELDS


def test_the_api_serialises_the_record_as_the_model_does(conn: duckdb.DuckDBPyConnection, built: MetricCatalog) -> None:
    """Through a FastAPI response model (which dumps and validates the record again), absent call fields stay
    absent and the names stay camelCase."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    record = post_call_record(conn, built, WS, call_id="call-3")
    app = FastAPI()

    @app.get("/record", response_model=PostCallRecord)
    def get_record() -> PostCallRecord:
        return record

    served = TestClient(app).get("/record").json()
    assert served == json.loads(record.model_dump_json())
    assert "duration" not in served["callData"] and served["callData"]["summary"] is None
    schema = TestClient(app).get("/openapi.json").json()["components"]["schemas"]
    assert {"contactId", "customMetrics", "keyPoints"} <= set(schema["CallData"]["properties"])
