"""A workspace's post-call webhook settings (CONTRACT §7): the rules of the `webhook:` block, the loader reading it
from workspace.yaml, and GET/PUT /v1/{ws}/settings/webhook (admin only, the file's other keys kept, ETag)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from pydantic import ValidationError

from metricstore.api.keys import KeyStore, NewKey
from metricstore.catalog_loader import collect_catalog
from metricstore.config import Settings
from metricstore.settings_schema import WebhookSettings
from metricstore.workspace_settings import new_secret, read_webhook, replace_webhook
from tests.api_helpers import WORKSPACE_YAML, WS, assert_error, bearer, write_defs

pytest_plugins = ["tests.api_fixtures"]  # its fixtures

URL = f"/v1/{WS}/settings/webhook"
SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()
HOOK = {"url": "https://hooks.example.com/metrics", "secret": SECRET}


def _errors(raw: dict[str, Any]) -> dict[str, str]:
    """The field → message of every error ``raw`` gives."""
    with pytest.raises(ValidationError) as caught:
        WebhookSettings.model_validate(raw)
    return {".".join(map(str, e["loc"])): e["msg"] for e in caught.value.errors()}


# --- the rules -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        HOOK,
        {**HOOK, "url": "https://hooks.example.com:8443/a/b?c=d", "enabled": False},
        {**HOOK, "url": "http://127.0.0.1:8787/", "allow_private_addresses": True},
        {**HOOK, "url": "https://10.1.2.3/hook", "allow_private_addresses": True},
        {**HOOK, "secret": "whsec_" + base64.b64encode(b"x" * 24).decode()},  # the shortest
        {**HOOK, "secret": "whsec_" + base64.b64encode(b"x" * 64).decode()},  # the longest
        {**HOOK, "secret": SECRET.rstrip("=")},  # unpadded, as the standardwebhooks library reads it
    ],
)
def test_good_settings(raw: dict[str, Any]) -> None:
    webhook = WebhookSettings.model_validate(raw)
    assert webhook.url == raw["url"] and webhook.secret == raw["secret"]
    assert webhook.enabled is raw.get("enabled", True)
    assert webhook.allow_private_addresses is raw.get("allow_private_addresses", False)
    assert SECRET not in repr(webhook)  # never in logs


def test_http_needs_allow_private_addresses_and_the_error_names_url() -> None:
    errors = _errors({**HOOK, "url": "http://hooks.example.com/metrics"})
    assert list(errors) == ["url"]
    assert "allow_private_addresses: true" in errors["url"] and "use https" in errors["url"]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "10.0.0.7", "192.168.1.2", "169.254.169.254", "[::1]"])
def test_a_private_host_needs_allow_private_addresses(host: str) -> None:
    errors = _errors({**HOOK, "url": f"https://{host}/hook"})
    assert list(errors) == ["url"] and "allow_private_addresses" in errors["url"]


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("ftp://hooks.example.com/", "https://"),
        ("hooks.example.com/metrics", "https://"),
        ("https://user:pass@hooks.example.com/", "no user or password"),
        ("https://hooks.example.com/metrics#part", "fragment"),
        ("https:///metrics", "no host"),
        ("https://hooks.example.com:99999/", "port"),
        ("https://hooks.example.com/a b", "spaces"),
    ],
)
def test_bad_urls(url: str, says: str) -> None:
    errors = _errors({**HOOK, "url": url})
    assert list(errors) == ["url"] and says in errors["url"], errors


@pytest.mark.parametrize(
    ("secret", "says"),
    [
        (base64.b64encode(bytes(32)).decode(), "start with whsec_"),
        ("whsec_not base64!", "base64"),
        ("whsec_" + base64.b64encode(b"x" * 16).decode(), "decodes to 16 bytes; it must be 24 to 64"),
        ("whsec_" + base64.b64encode(b"x" * 65).decode(), "decodes to 65 bytes"),
        ("whsec_", "base64"),
    ],
)
def test_bad_secrets(secret: str, says: str) -> None:
    errors = _errors({**HOOK, "secret": secret})
    assert list(errors) == ["secret"] and says in errors["secret"], errors


def test_unknown_fields_and_loose_booleans_are_refused() -> None:
    assert list(_errors({**HOOK, "retries": 3})) == ["retries"]
    assert list(_errors({**HOOK, "enabled": "yes"})) == ["enabled"]  # a string is not a boolean here
    assert set(_errors({"url": HOOK["url"]})) == {"secret"}


def test_new_secret_is_valid() -> None:
    secret = new_secret()
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert WebhookSettings(url=HOOK["url"], secret=secret).secret == secret
    assert new_secret() != secret


# --- the loader ---------------------------------------------------------------------------------------------


def test_the_loader_reads_the_block_and_names_the_field_of_a_bad_one(tmp_path: Path) -> None:
    defs = write_defs(tmp_path / "defs")
    workspace_yaml = defs / "workspaces" / WS / "workspace.yaml"
    workspace_yaml.write_text(yaml.safe_dump({"default_metrics_enabled": False, "webhook": HOOK}))
    catalog, errors = collect_catalog(defs)
    assert errors == []
    webhook = catalog.settings_for(WS).webhook
    assert webhook is not None and webhook.url == HOOK["url"] and webhook.enabled

    workspace_yaml.write_text(
        yaml.safe_dump({"default_metrics_enabled": False, "webhook": {**HOOK, "url": "http://hooks.example.com/"}})
    )
    catalog, errors = collect_catalog(defs)
    (error,) = errors
    assert (error.field, error.key) == ("webhook.url", "workspace")
    assert "allow_private_addresses" in error.message and not error.message.startswith("Value error")
    assert catalog.settings_for(WS).webhook is None  # refused: the defaults apply


# --- the store ----------------------------------------------------------------------------------------------


def test_replace_keeps_the_other_keys_and_comments(tmp_path: Path) -> None:
    defs = write_defs(tmp_path / "defs")
    path = defs / "workspaces" / WS / "workspace.yaml"
    path.write_text("# settings of the demo workspace\ndefault_metrics_enabled: false\n")
    path.chmod(0o640)
    view = replace_webhook(defs, WS, WebhookSettings.model_validate(HOOK), if_match=None)
    assert view.webhook is not None and view.etag == read_webhook(defs, WS).etag
    text = path.read_text()
    assert text.startswith("# settings of the demo workspace\n")
    assert yaml.safe_load(text) == {
        "default_metrics_enabled": False,
        "webhook": {**HOOK, "enabled": True, "allow_private_addresses": False},
    }
    assert path.stat().st_mode & 0o777 == 0o640
    assert not list(path.parent.glob(".*.tmp"))

    removed = replace_webhook(defs, WS, None, if_match=view.etag)
    assert removed.webhook is None
    assert yaml.safe_load(path.read_text()) == {"default_metrics_enabled": False}


def test_removing_from_a_workspace_without_a_folder_creates_nothing(tmp_path: Path) -> None:
    defs = write_defs(tmp_path / "defs")
    assert replace_webhook(defs, "ws_none", None, if_match=None).webhook is None
    assert not (defs / "workspaces" / "ws_none").exists()


# --- the API ------------------------------------------------------------------------------------------------


@pytest.fixture
def admin(keys: KeyStore) -> NewKey:
    return keys.create(WS, "admin")


def test_get_put_round_trip(client: TestClient, admin: NewKey, api_settings: Settings) -> None:
    auth = bearer(admin.key)
    empty = client.get(URL, headers=auth)
    assert empty.status_code == 200, empty.text
    assert empty.json() == {"webhook": None}
    etag = empty.headers["etag"]

    put = client.put(URL, json={"webhook": HOOK}, headers={**auth, "If-Match": etag})
    assert put.status_code == 200, put.text
    shown = {**HOOK, "enabled": True, "allow_private_addresses": False}
    assert put.json() == {"webhook": shown}
    assert put.headers["etag"] != etag

    got = client.get(URL, headers=auth)
    assert got.json() == {"webhook": shown} and got.headers["etag"] == put.headers["etag"]
    ws_file = api_settings.metric_defs / "workspaces" / WS / "workspace.yaml"
    assert ws_file.read_text().startswith(WORKSPACE_YAML)  # the comment and default_metrics_enabled kept
    catalog, errors = collect_catalog(api_settings.metric_defs)
    assert errors == [] and catalog.settings_for(WS).webhook == WebhookSettings.model_validate(HOOK)

    # the same again changes nothing; null removes the block and leaves the rest
    assert client.put(URL, json={"webhook": HOOK}, headers=auth).headers["etag"] == put.headers["etag"]
    gone = client.put(URL, json={"webhook": None}, headers=auth)
    assert gone.status_code == 200 and gone.json() == {"webhook": None}
    assert ws_file.read_text() == WORKSPACE_YAML


def test_invalid_bodies_are_422_naming_the_field(client: TestClient, admin: NewKey, api_settings: Settings) -> None:
    ws_file = api_settings.metric_defs / "workspaces" / WS / "workspace.yaml"
    cases = {
        "body.webhook.url": {**HOOK, "url": "http://hooks.example.com/"},
        "body.webhook.secret": {**HOOK, "secret": "whsec_c2hvcnQ="},
        "body.webhook.extra": {**HOOK, "extra": 1},
    }
    for field, webhook in cases.items():
        error = assert_error(client.put(URL, json={"webhook": webhook}, headers=bearer(admin.key)), 422)
        assert [d["field"] for d in error["details"]] == [field], error
    error = assert_error(client.put(URL, json={}, headers=bearer(admin.key)), 422)
    assert error["details"][0]["field"] == "body.webhook"  # null removes; a missing block is a mistake
    http = assert_error(client.put(URL, json={"webhook": cases["body.webhook.url"]}, headers=bearer(admin.key)), 422)
    assert "allow_private_addresses: true" in http["details"][0]["message"]
    assert ws_file.read_text() == WORKSPACE_YAML


def test_stale_if_match_is_412(client: TestClient, admin: NewKey) -> None:
    auth = bearer(admin.key)
    etag = client.get(URL, headers=auth).headers["etag"]
    assert client.put(URL, json={"webhook": HOOK}, headers={**auth, "If-Match": etag}).status_code == 200
    stale = client.put(URL, json={"webhook": None}, headers={**auth, "If-Match": etag})
    error = assert_error(stale, 412, "precondition_failed")
    assert "webhook settings changed" in error["message"]
    assert stale.headers["etag"] != etag
    assert client.get(URL, headers=auth).json()["webhook"]["url"] == HOOK["url"]


def test_roles_and_workspaces(client: TestClient, keys: KeyStore) -> None:
    viewer = bearer(keys.create(WS, "viewer").key)
    other_admin = bearer(keys.create("ws_other", "admin").key)
    assert_error(client.get(URL), 401, "unauthorized")
    for headers in (viewer, other_admin):  # the secret is for admins of the workspace only
        assert_error(client.get(URL, headers=headers), 403, "forbidden")
        assert_error(client.put(URL, json={"webhook": HOOK}, headers=headers), 403, "forbidden")
    owner = bearer(keys.create(WS, "owner").key)
    assert client.put(URL, json={"webhook": HOOK}, headers=owner).status_code == 200
    assert_error(client.get(f"{URL}/unknown", headers=owner), 404, "not_found")


def test_a_new_workspace_gets_its_file(client: TestClient, keys: KeyStore, api_settings: Settings) -> None:
    auth = bearer(keys.create("ws_new", "admin").key)
    assert client.get("/v1/ws_new/settings/webhook", headers=auth).json() == {"webhook": None}
    local = {**HOOK, "url": "http://127.0.0.1:8787/", "allow_private_addresses": True}
    response = client.put("/v1/ws_new/settings/webhook", json={"webhook": local}, headers=auth)
    assert response.status_code == 200, response.text
    path = api_settings.metric_defs / "workspaces" / "ws_new" / "workspace.yaml"
    assert yaml.safe_load(path.read_text())["webhook"]["url"] == local["url"]
    assert path.stat().st_mode & 0o777 == 0o600  # it holds the secret


def test_an_invalid_file_on_the_server_is_409_until_a_put_replaces_its_block(
    client: TestClient, admin: NewKey, api_settings: Settings
) -> None:
    auth = bearer(admin.key)
    path = api_settings.metric_defs / "workspaces" / WS / "workspace.yaml"
    path.write_text(yaml.safe_dump({"default_metrics_enabled": True, "webhook": {**HOOK, "secret": "whsec_"}}))
    error = assert_error(client.get(URL, headers=auth), 409, "workspace_settings_invalid")
    assert [d["field"] for d in error["details"]] == ["webhook.secret"]
    fixed = client.put(URL, json={"webhook": HOOK}, headers=auth)
    assert fixed.status_code == 200, fixed.text
    assert client.get(URL, headers=auth).json()["webhook"]["secret"] == SECRET

    path.write_text("default_metrics_enabled: maybe\n")  # another key: a webhook change cannot keep it
    error = assert_error(client.put(URL, json={"webhook": HOOK}, headers=auth), 409, "workspace_settings_invalid")
    assert [d["field"] for d in error["details"]] == ["default_metrics_enabled"]
    assert path.read_text() == "default_metrics_enabled: maybe\n"
