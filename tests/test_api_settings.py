"""The settings API: GET → PUT back unchanged → 200; a docs metric added through PUT reaches the loader and
the history with the key that made it; every error in one 422; stale If-Match 412."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from metricstore.api.keys import KeyStore, NewKey
from metricstore.catalog_loader import collect_catalog
from metricstore.config import Settings
from tests.api_helpers import (
    WORKSPACE_YAML,
    WS,
    assert_error,
    bearer,
)
from tests.conftest import DOCS_METRIC

URL = f"/v1/{WS}/settings/metrics"

pytest_plugins = ["tests.api_fixtures"]  # its fixtures


@pytest.fixture
def admin(keys: KeyStore) -> NewKey:
    return keys.create(WS, "admin")


def test_round_trip_add_a_docs_metric_and_its_history(
    client: TestClient, admin: NewKey, api_settings: Settings
) -> None:
    auth = bearer(admin.key)
    got = client.get(URL, headers=auth)
    assert got.status_code == 200, got.text
    body = got.json()
    assert {d["builtin"] for d in body["definitions"]} == {True, False}
    assert all("definition_version" in d for d in body["definitions"])
    etag = got.headers["etag"]

    same = client.put(URL, json={"definitions": body["definitions"]}, headers={**auth, "If-Match": etag})
    assert same.status_code == 200, same.text
    assert same.json()["change"] is None and same.headers["etag"] == etag

    added = client.put(
        URL, json={"definitions": [*body["definitions"], DOCS_METRIC]}, headers={**auth, "If-Match": etag}
    )
    assert added.status_code == 200, added.text
    change = added.json()["change"]
    assert change["version"] == 1 and change["key_id"] == admin.info.key_id
    assert change["summary"] == {"added": ["docs_quality"], "removed": [], "changed": {}}
    assert added.headers["etag"] != etag

    listed = client.get(URL, headers=auth).json()["definitions"]
    (docs,) = [d for d in listed if d["key"] == "docs_quality"]
    assert docs["builtin"] is False and docs["unit"] == "score"
    catalog, errors = collect_catalog(api_settings.metric_defs)
    assert errors == []
    assert "docs_quality" in {d.definition.key for d in catalog.custom[WS]}
    ws_dir = api_settings.metric_defs / "workspaces" / WS
    assert (ws_dir / "workspace.yaml").read_text() == WORKSPACE_YAML

    history = client.get(f"{URL}/history", headers=auth)
    assert history.status_code == 200
    (record,) = history.json()["changes"]
    assert (record["version"], record["key_id"]) == (1, admin.info.key_id)
    assert "docs_quality" in [d["key"] for d in record["definitions"]]


def test_every_error_in_one_422(client: TestClient, admin: NewKey, api_settings: Settings) -> None:
    before = sorted(p.read_text() for p in (api_settings.metric_defs / "workspaces" / WS).rglob("*.yaml"))
    bad = [
        {**DOCS_METRIC, "aggregation": "median"},
        {**DOCS_METRIC, "key": "second", "extract_path": "data.x"},
        {"name": "", "dataType": "number", "prompt": "How many?"},
        "not a definition",
    ]
    error = assert_error(client.put(URL, json={"definitions": bad}, headers=bearer(admin.key)), 422)
    assert error["code"] == "invalid_definitions"
    found = {(d["key"], d["field"]) for d in error["details"]}
    assert {("docs_quality", "aggregation"), ("second", "extract_path"), ("#3", "-")} <= found
    assert any(d["key"] == "#2" for d in error["details"])
    assert all(set(d) == {"key", "field", "message"} for d in error["details"])
    after = sorted(p.read_text() for p in (api_settings.metric_defs / "workspaces" / WS).rglob("*.yaml"))
    assert after == before


def test_stale_if_match_is_412(client: TestClient, admin: NewKey) -> None:
    auth = bearer(admin.key)
    etag = client.get(URL, headers=auth).headers["etag"]
    assert client.put(URL, json={"definitions": [DOCS_METRIC]}, headers={**auth, "If-Match": etag}).status_code == 200
    stale = client.put(URL, json={"definitions": []}, headers={**auth, "If-Match": etag})
    assert_error(stale, 412, "precondition_failed")
    assert stale.headers["etag"] != etag
    assert client.put(URL, json={"definitions": []}, headers=auth).status_code == 200  # no If-Match: allowed


def test_a_new_workspace_gets_its_folder(client: TestClient, keys: KeyStore, api_settings: Settings) -> None:
    owner = bearer(keys.create("ws_new", "owner").key)
    post_call = {"name": "Product Interest", "dataType": "string", "prompt": "Which product?", "isRequired": True}
    response = client.put("/v1/ws_new/settings/metrics", json={"definitions": [post_call]}, headers=owner)
    assert response.status_code == 200, response.text
    assert response.json()["change"]["summary"]["added"] == ["product_interest"]
    assert (Path(api_settings.metric_defs) / "workspaces" / "ws_new" / "metrics.yaml").exists()


def test_a_gated_definition_shows_its_gate_read_only(client: TestClient, admin: NewKey) -> None:
    auth = bearer(admin.key)
    got = client.get(URL, headers=auth)
    gated = {
        "key": "mood_gated",
        "name": "Mood",
        "metric_type": "categorical",
        "extraction_mode": "ai_sentiment",
        "calibration": {"labels": "labels/mood.jsonl", "min_agreement": 0.5},
    }
    put = client.put(
        URL,
        headers={**auth, "If-Match": got.headers["ETag"]},
        json={"definitions": [*got.json()["definitions"], gated]},
    )
    assert put.status_code == 200, put.text
    shown = next(d for d in put.json()["definitions"] if d["key"] == "mood_gated")
    assert shown["gate"] == {"live": False, "reason": "held back: not checked yet (the next run calibrates it)"}
    assert all("gate" not in d for d in put.json()["definitions"] if d["key"] != "mood_gated")
    again = client.get(URL, headers=auth)
    back = client.put(
        URL, headers={**auth, "If-Match": again.headers["ETag"]}, json={"definitions": again.json()["definitions"]}
    )
    assert back.status_code == 200 and back.json()["change"] is None  # the read-only gate is ignored


def test_the_last_runs_gate_verdict_is_shown_only_while_the_gate_is_the_one_it_checked() -> None:
    from metricstore.api.settings_routes import _verdict
    from metricstore.definitions import CalibrationGate

    definition = {"key": "mood_gated", "calibration": {"labels": "labels/mood.jsonl", "min_agreement": 0.5}}
    checked = {
        "live": True,
        "reason": "live: kappa 0.700 ≥ 0.5 on 40 of 40 labelled conversations",
        "gate_settings": CalibrationGate.model_validate(definition["calibration"]).settings(),
    }
    assert _verdict(definition, checked) == {"live": True, "reason": checked["reason"]}
    assert _verdict(definition, {**checked, "gate_settings": None})["live"]  # stored before the column existed
    for gate in (
        {"labels": "labels/other.jsonl", "min_agreement": 0.5},
        {**definition["calibration"], "min_labelled": 5},
    ):
        assert _verdict({**definition, "calibration": gate}, checked) == {
            "live": False,
            "reason": "held back: the gate changed since the last run checked it (the next run checks it again)",
        }
    assert _verdict(definition, None)["reason"] == "held back: not checked yet (the next run calibrates it)"
