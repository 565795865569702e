"""The read routes and on-demand evaluation through the app: answers from the published warehouse, limits
as 422 in the one error shape, 503 before anything is published, and the evaluate route's 404/422/502/503."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from pathlib import Path

import anthropic
import pytest
from fastapi.testclient import TestClient

from metricstore.api.keys import KeyStore
from metricstore.config import Settings
from metricstore.testing import FakeClaude
from tests.api_helpers import (
    CALL_ID,
    WS,
    assert_error,
    bearer,
    client_for,
)
from tests.conftest import DOCS_METRIC

pytest_plugins = ["tests.api_fixtures"]  # its fixtures


@pytest.fixture
def auth(keys: KeyStore) -> dict[str, str]:
    return bearer(keys.create(WS, "viewer").key)


def test_latest_values_trend_and_catalog(client: TestClient, auth: dict[str, str]) -> None:
    latest = client.get(f"/v1/{WS}/metrics/latest", headers=auth)
    assert latest.status_code == 200, latest.text
    assert any(a["metric_key"] == "voice_quality_score" for a in latest.json()["aggregates"])
    entities = client.get(f"/v1/{WS}/metrics/latest", params={"scope": "entity", "entity_id": CALL_ID}, headers=auth)
    assert entities.status_code == 200, entities.text
    values = client.get(f"/v1/{WS}/metrics/voice_quality_score", params={"limit": 5}, headers=auth)
    assert values.status_code == 200, values.text
    assert values.json()["points"]
    trend = client.get(f"/v1/{WS}/metrics/voice_quality_score/trend", params={"days": 365}, headers=auth)
    assert trend.status_code == 200, trend.text
    catalog = client.get(f"/v1/{WS}/metrics/catalog", headers=auth)
    assert catalog.status_code == 200, catalog.text
    assert "voice_quality_score" in {m["key"] for m in catalog.json()["metrics"]}


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("voice_quality_score", {"limit": 0}, "query.limit"),
        ("voice_quality_score", {"limit": 366}, "query.limit"),
        ("voice_quality_score", {"date_from": "yesterday"}, "query.date_from"),
        ("voice_quality_score/trend", {"days": 0}, "query.days"),
        ("voice_quality_score/trend", {"days": 366}, "query.days"),
        ("latest", {"scope": "everything"}, "query.scope"),
        ("latest", {"source": "staging"}, "query.source"),
    ],
)
def test_parameters_out_of_range_are_422_in_the_error_shape(
    client: TestClient, auth: dict[str, str], path: str, params: dict[str, object], field: str
) -> None:
    error = assert_error(client.get(f"/v1/{WS}/metrics/{path}", params=params, headers=auth), 422, "invalid_request")
    assert [d["field"] for d in error["details"]] == [field]


def test_unknown_metric_route_and_method_use_the_error_shape(client: TestClient, auth: dict[str, str]) -> None:
    assert_error(client.get(f"/v1/{WS}/metrics/no_such_metric", headers=auth), 404, "unknown_metric")
    assert_error(client.get("/v2/nothing", headers=auth), 404, "not_found")
    response = client.delete(f"/v1/{WS}/metrics/latest", headers=auth)
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response.headers["allow"]


def test_post_call_record(client: TestClient, auth: dict[str, str]) -> None:
    record = client.get("/api/v1/call/get-metric", params={"callId": CALL_ID}, headers=auth)
    assert record.status_code == 200, record.text
    body = record.json()
    assert body["success"] is True and "customMetrics" in body["callData"] and "metricSchema" in body
    by_agent = client.get("/api/v1/call/get-metric", params={"agentId": "agent_7"}, headers=auth)
    assert by_agent.status_code == 200
    assert_error(client.get("/api/v1/call/get-metric", params={"callId": "nope"}, headers=auth), 404, "unknown_call")
    assert_error(client.get("/api/v1/call/get-metric", headers=auth), 422, "invalid_parameter")


def test_nothing_published_is_503(api_settings: Settings, keys: KeyStore, tmp_path: Path) -> None:
    settings = dataclasses.replace(api_settings, published=tmp_path / "none" / "warehouse.duckdb")
    with client_for(settings) as unpublished:
        key = bearer(keys.create(WS, "viewer").key)
        assert_error(unpublished.get(f"/v1/{WS}/metrics/latest", headers=key), 503, "not_published")
        # settings do not need the warehouse
        assert unpublished.get(f"/v1/{WS}/settings/metrics", headers=key).status_code == 200


def test_a_replaced_snapshot_is_read_by_the_next_request(
    api_settings: Settings, keys: KeyStore, tmp_path: Path
) -> None:
    published = tmp_path / "published" / "warehouse.duckdb"
    published.parent.mkdir()
    shutil.copy(api_settings.published, published)
    settings = dataclasses.replace(api_settings, published=published)
    key = bearer(keys.create(WS, "viewer").key)
    with client_for(settings) as reader:
        assert reader.get(f"/v1/{WS}/metrics/voice_quality_score", headers=key).json()["points"]
        import duckdb

        empty = tmp_path / "next.duckdb"
        shutil.copy(api_settings.published, empty)
        with duckdb.connect(str(empty)) as conn:
            conn.execute("DELETE FROM metrics.metric_aggregates")
        empty.replace(published)  # as the job publishes: an atomic rename
        assert reader.get(f"/v1/{WS}/metrics/voice_quality_score", headers=key).json()["points"] == []


@pytest.fixture
def evaluate_url() -> str:
    return f"/v1/{WS}/metrics/{{key}}/evaluate"


def test_evaluate_free_tier_and_its_errors(client: TestClient, auth: dict[str, str], evaluate_url: str) -> None:
    ok = client.post(evaluate_url.format(key="customer_mood"), json={"subject_id": CALL_ID}, headers=auth)
    assert ok.status_code == 200, ok.text
    assert ok.json()["metric_key"] == "customer_mood" and ok.json()["value_text"]
    assert_error(client.post(evaluate_url.format(key="nope"), json={"subject_id": CALL_ID}, headers=auth), 404)
    unknown_call = client.post(evaluate_url.format(key="customer_mood"), json={"subject_id": "x"}, headers=auth)
    assert_error(unknown_call, 404, "unknown_conversation")
    static = client.post(evaluate_url.format(key="voice_quality_score"), json={"subject_id": CALL_ID}, headers=auth)
    assert_error(static, 422, "unsupported_mode")
    no_body = client.post(evaluate_url.format(key="customer_mood"), json={"subject": CALL_ID}, headers=auth)
    assert [d["field"] for d in assert_error(no_body, 422, "invalid_request")["details"]] == ["body.subject_id"]


def test_evaluate_without_a_model_key_is_503(
    client: TestClient, auth: dict[str, str], evaluate_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    response = client.post(evaluate_url.format(key="customer_satisfaction"), json={"subject_id": CALL_ID}, headers=auth)
    assert "ANTHROPIC_API_KEY" in assert_error(response, 503, "no_api_key")["message"]


@pytest.fixture
def failing_claude() -> Iterator[FakeClaude]:
    with FakeClaude(faults=["refusal"] * 10) as fake:
        yield fake


def test_a_failed_model_call_is_502(
    api_settings: Settings, keys: KeyStore, evaluate_url: str, failing_claude: FakeClaude
) -> None:
    def claude() -> anthropic.AsyncAnthropic:
        return anthropic.AsyncAnthropic(base_url=failing_claude.base_url, api_key="test-key", max_retries=0)

    with client_for(api_settings, client_factory=claude) as api:
        response = api.post(
            evaluate_url.format(key="customer_satisfaction"),
            json={"subject_id": CALL_ID},
            headers=bearer(keys.create(WS, "viewer").key),
        )
    assert_error(response, 502, "model_error")
    assert failing_claude.base_url.startswith("http://127.0.0.1:")


def test_openapi_document_and_interactive_docs(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert document["components"]["securitySchemes"]["ApiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": document["components"]["securitySchemes"]["ApiKey"]["description"],
    }
    limit = next(p for p in document["paths"]["/v1/{ws}/metrics/{key}"]["get"]["parameters"] if p["name"] == "limit")
    assert (limit["schema"]["minimum"], limit["schema"]["maximum"], limit["schema"]["default"]) == (1, 365, 90)
    errors = document["paths"]["/v1/{ws}/settings/metrics"]["put"]["responses"]
    assert {"401", "403", "412", "422"} <= set(errors)
    assert errors["422"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorResponse"}
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert client.get("/docs").status_code == 200


def test_answers_follow_a_definitions_change(client: TestClient, keys: KeyStore) -> None:
    admin = bearer(keys.create(WS, "admin").key)
    before = client.get(f"/v1/{WS}/metrics/catalog", headers=admin)
    assert before.status_code == 200 and "docs_quality" not in {m["key"] for m in before.json()["metrics"]}
    assert client.get(f"/v1/{WS}/metrics/catalog", headers=admin).json() == before.json()  # the same snapshot
    settings = client.get(f"/v1/{WS}/settings/metrics", headers=admin).json()
    settings["definitions"].append(DOCS_METRIC)
    put = client.put(f"/v1/{WS}/settings/metrics", json=settings, headers=admin)
    assert put.status_code == 200, put.text
    after = client.get(f"/v1/{WS}/metrics/catalog", headers=admin).json()
    docs = next(m for m in after["metrics"] if m["key"] == "docs_quality")
    assert docs["has_values"] is False  # defined now, computed by the next run
    assert client.get(f"/v1/{WS}/metrics/docs_quality", headers=admin).json()["points"] == []


def test_latest_entities_take_the_same_limit_as_the_cli(client: TestClient, auth: dict[str, str]) -> None:
    url = f"/v1/{WS}/metrics/latest"
    one = client.get(url, params={"scope": "entity", "limit": 1}, headers=auth).json()
    assert len(one["entities"]) == 1 and one["entities_truncated"] is True
    assert_error(client.get(url, params={"limit": 10_001}, headers=auth), 422, "invalid_request")
