"""Who may call what: 401 without a live key (none, unknown, revoked), 403 for another workspace or a role that
may not, 2xx otherwise; for every route."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from metricstore.api.keys import KeyStore
from tests.api_helpers import (
    CALL_ID,
    OTHER_WS,
    WS,
    assert_error,
    bearer,
)

# (method, path with {ws}, JSON body or None, whether it writes)
ROUTES: list[tuple[str, str, Any, bool]] = [
    ("GET", "/v1/{ws}/metrics/latest", None, False),
    ("GET", "/v1/{ws}/metrics/catalog", None, False),
    ("GET", "/v1/{ws}/metrics/voice_quality_score", None, False),
    ("GET", "/v1/{ws}/metrics/voice_quality_score/trend", None, False),
    ("POST", "/v1/{ws}/metrics/customer_mood/evaluate", {"subject_id": CALL_ID}, False),
    ("GET", "/v1/{ws}/settings/metrics", None, False),
    ("GET", "/v1/{ws}/settings/metrics/history", None, False),
    ("PUT", "/v1/{ws}/settings/metrics", {"definitions": []}, True),
]
CALL_ROUTE = f"/api/v1/call/get-metric?callId={CALL_ID}"
IDS = [f"{m} {p}" for m, p, _, _ in ROUTES]

pytest_plugins = ["tests.api_fixtures"]  # its fixtures


def call(client: TestClient, route: tuple[str, str, Any, bool], ws: str, headers: dict[str, str]) -> Any:
    method, path, body, _ = route
    return client.request(method, path.format(ws=ws), json=body, headers=headers)


@pytest.mark.parametrize("route", ROUTES, ids=IDS)
def test_without_a_live_key_every_route_is_401(client: TestClient, keys: KeyStore, route: Any) -> None:
    revoked = keys.create(WS, "owner")
    keys.revoke(revoked.info.key_id)
    for headers in ({}, bearer("ms_not_a_key"), {"Authorization": "Basic dXNlcjpwYXNz"}, bearer(revoked.key)):
        response = call(client, route, WS, headers)
        assert_error(response, 401, "unauthorized")
        assert response.headers["www-authenticate"] == "Bearer"
    assert_error(client.get(CALL_ROUTE), 401, "unauthorized")
    assert_error(client.get(CALL_ROUTE, headers=bearer(revoked.key)), 401, "unauthorized")


@pytest.mark.parametrize("role", ["viewer", "admin", "owner"])
@pytest.mark.parametrize("route", ROUTES, ids=IDS)
def test_roles_and_workspaces(client: TestClient, keys: KeyStore, role: str, route: Any) -> None:
    own = bearer(keys.create(WS, role).key)
    other = bearer(keys.create(OTHER_WS, role).key)
    assert_error(call(client, route, WS, other), 403, "forbidden")  # a key of another workspace
    assert_error(call(client, route, OTHER_WS, own), 403, "forbidden")
    response = call(client, route, WS, own)
    if route[3] and role == "viewer":
        assert_error(response, 403, "forbidden")
    else:
        assert 200 <= response.status_code < 300, (route, role, response.text)


@pytest.mark.parametrize("role", ["viewer", "admin", "owner"])
def test_post_call_route_reads_the_keys_workspace(client: TestClient, keys: KeyStore, role: str) -> None:
    assert client.get(CALL_ROUTE, headers=bearer(keys.create(WS, role).key)).status_code == 200
    # the same call id is not in another workspace
    assert_error(client.get(CALL_ROUTE, headers=bearer(keys.create(OTHER_WS, role).key)), 404, "unknown_call")
