"""API keys: only a hash is stored, revoked keys stop working, and the CLI prints a key once."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from metricstore.api.keys import KEY_ID_LENGTH, KeyStore
from metricstore.cli import main


def test_a_key_is_stored_only_as_its_hash(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys.sqlite")
    new = store.create("ws_a", "viewer")
    assert new.key.startswith("ms_") and len(new.key) > 40
    assert new.info.key_id == new.key[:KEY_ID_LENGTH]
    raw = (tmp_path / "keys.sqlite").read_bytes()
    assert new.key.encode() not in raw
    assert new.key[KEY_ID_LENGTH:].encode() not in raw  # the secret part, not only the whole key
    with sqlite3.connect(tmp_path / "keys.sqlite") as conn:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(api_keys)")]
    assert columns == ["key_id", "key_hash", "workspace_id", "role", "created_at", "revoked_at", "last_used_at"]


def test_authenticate_revoke_and_last_use(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys.sqlite")
    admin = store.create("ws_a", "admin")
    viewer = store.create("ws_b", "viewer")
    found = store.authenticate(admin.key)
    assert found is not None and (found.workspace_id, found.role) == ("ws_a", "admin")
    assert found.can_write_settings and not viewer.info.can_write_settings
    assert store.authenticate(admin.key + "x") is None
    assert store.authenticate(admin.info.key_id) is None  # the public id is not a key
    assert [k.last_used_at is not None for k in store.list_keys()] == [True, False]
    assert [k.key_id for k in store.list_keys("ws_b")] == [viewer.info.key_id]
    revoked = store.revoke(admin.info.key_id)
    assert revoked is not None and revoked.revoked_at is not None
    assert store.authenticate(admin.key) is None
    assert store.authenticate(viewer.key) is not None
    assert store.revoke("ms_missing") is None


@pytest.mark.parametrize(("workspace", "role"), [("ws_a", "superuser"), ("../etc", "viewer"), ("", "admin")])
def test_create_refuses_bad_roles_and_workspaces(tmp_path: Path, workspace: str, role: str) -> None:
    with pytest.raises(ValueError):
        KeyStore(tmp_path / "keys.sqlite").create(workspace, role)


def test_cli_create_list_revoke(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METRICSTORE_API_KEYS", str(tmp_path / "keys.sqlite"))
    runner = CliRunner()
    created = runner.invoke(main, ["keys", "create", "--workspace", "ws_demo", "--role", "admin", "--json"])
    assert created.exit_code == 0, created.output
    printed = json.loads(created.stdout)
    assert printed["key"].startswith("ms_") and printed["id"] == printed["key"][:KEY_ID_LENGTH]

    listed = runner.invoke(main, ["keys", "list", "--workspace", "ws_demo", "--json"])
    assert listed.exit_code == 0
    assert printed["key"] not in listed.output
    assert [(k["key_id"], k["role"], k["revoked_at"]) for k in json.loads(listed.stdout)] == [
        (printed["id"], "admin", None)
    ]
    plain = runner.invoke(main, ["keys", "create", "--workspace", "ws_demo", "--role", "viewer"])
    assert plain.exit_code == 0 and plain.stdout.strip().startswith("ms_")

    assert runner.invoke(main, ["keys", "revoke", printed["id"]]).exit_code == 0
    assert KeyStore(tmp_path / "keys.sqlite").authenticate(printed["key"]) is None
    assert runner.invoke(main, ["keys", "revoke", "ms_nothere"]).exit_code == 1
    bad_role = runner.invoke(main, ["keys", "create", "--workspace", "ws_demo", "--role", "root"])
    assert bad_role.exit_code == 2
