"""The settings store: a workspace's custom set replaced all or nothing, validated as the loader validates,
kept as history, and crash-safe: a kill at any step leaves the loader the old set or the new, never a mix."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from metricstore import settings_store
from metricstore.catalog_loader import PENDING_DEFINITIONS, collect_catalog
from metricstore.settings_store import DefinitionsRejected, StaleEtag, read_definitions, replace_definitions
from tests.api_helpers import WORKSPACE_YAML, WS, write_defs
from tests.conftest import DOCS_METRIC, REPO

OLD_KEYS = ["customer_mood", "customer_satisfaction", "voice_quality_score"]


@pytest.fixture
def defs(tmp_path: Path) -> Path:
    return write_defs(tmp_path / "defs")


def custom_keys(root: Path, ws: str = WS) -> list[str]:
    catalog, errors = collect_catalog(root)
    assert errors == []
    return [d.definition.key for d in catalog.custom.get(ws, [])]


def custom_items(root: Path) -> list[dict[str, Any]]:
    return [d for d in read_definitions(root, WS).definitions if not d["builtin"]]


def test_read_lists_builtins_then_custom_with_versions(defs: Path) -> None:
    shown = read_definitions(defs, WS)
    builtin = [d for d in shown.definitions if d["builtin"]]
    assert builtin and shown.definitions[: len(builtin)] == builtin
    assert sorted(d["key"] for d in custom_items(defs)) == sorted(OLD_KEYS)
    assert all(d["definition_version"].startswith("v") for d in shown.definitions)
    assert shown.version is None and shown.etag.startswith('"')
    assert read_definitions(defs, "ws_new").etag != shown.etag  # an empty custom set has its own tag
    assert not (defs / "workspaces" / "ws_new").exists()  # reading does not create a workspace
    assert not (defs / "workspaces" / WS / ".settings.lock").exists()  # nor a lock in a clean one


def test_put_back_what_get_returned_changes_nothing(defs: Path) -> None:
    before = read_definitions(defs, WS)
    after, change = replace_definitions(defs, WS, before.definitions, if_match=before.etag, key_id="ms_k")
    assert change is None and after.etag == before.etag
    assert (defs / "workspaces" / WS / "ai.yaml").exists()  # nothing rewritten
    assert settings_store.history(defs, WS) == []


def test_replace_writes_one_file_keeps_workspace_yaml_and_history(defs: Path) -> None:
    items = [d for d in custom_items(defs) if d["key"] != "customer_mood"]
    items[0] = {**items[0], "name": "Satisfaction (1-5)"}
    shown, change = replace_definitions(defs, WS, [*items, DOCS_METRIC], if_match=None, key_id="ms_abc")
    assert change is not None and change.version == 1 and change.key_id == "ms_abc"
    assert change.summary.added == ["docs_quality"]
    assert change.summary.removed == ["customer_mood"]
    assert change.summary.changed == {"customer_satisfaction": ["name"]}
    ws_dir = defs / "workspaces" / WS
    assert sorted(p.name for p in ws_dir.rglob("*.yaml")) == ["metrics.yaml", "workspace.yaml"]
    assert (ws_dir / "workspace.yaml").read_text() == WORKSPACE_YAML
    text = (ws_dir / "metrics.yaml").read_text()
    assert text.startswith("# yaml-language-server: $schema=../../schema/metric-definitions.schema.json\n")
    assert [d["key"] for d in yaml.safe_load(text)["metrics"]] == [
        "customer_satisfaction",
        "voice_quality_score",
        "docs_quality",
    ]
    assert custom_keys(defs) == ["customer_satisfaction", "voice_quality_score", "docs_quality"]
    assert shown.version == 1 and shown.etag == change.etag
    (record,) = settings_store.history(defs, WS)
    assert record == change and [d["key"] for d in record.definitions][-1] == "docs_quality"


def test_post_call_shape_and_a_new_workspace(defs: Path) -> None:
    post_call = {"name": "Product Interest", "dataType": "string", "prompt": "Which product?", "isRequired": True}
    _, change = replace_definitions(defs, "ws_fresh", [post_call], if_match=None, key_id=None)
    assert change is not None and change.summary.added == ["product_interest"]
    assert custom_keys(defs, "ws_fresh") == ["product_interest"]


def test_every_error_is_reported_and_nothing_is_written(defs: Path) -> None:
    before = (defs / "workspaces" / WS / "ai.yaml").read_text()
    bad = [
        {**DOCS_METRIC, "aggregation": "median"},
        {"key": "Bad Key", "name": "x", "metric_type": "numerical", "extraction_mode": "static"},
        {**DOCS_METRIC, "key": "summary"},  # a built-in's key
        {"key": "not_builtin", "builtin": True},
    ]
    with pytest.raises(DefinitionsRejected) as caught:
        replace_definitions(defs, WS, bad, if_match=None, key_id=None)
    found = {(e.key, e.field) for e in caught.value.errors}
    assert {
        ("docs_quality", "aggregation"),
        ("Bad Key", "key"),
        ("summary", "key"),
        ("not_builtin", "builtin"),
    } <= found
    assert (defs / "workspaces" / WS / "ai.yaml").read_text() == before
    assert settings_store.history(defs, WS) == []


def test_stale_etag_is_refused(defs: Path) -> None:
    stale = read_definitions(defs, WS).etag
    replace_definitions(defs, WS, [DOCS_METRIC], if_match=stale, key_id=None)
    with pytest.raises(StaleEtag):
        replace_definitions(defs, WS, [], if_match=stale, key_id=None)
    current = read_definitions(defs, WS).etag
    replace_definitions(defs, WS, [], if_match=f"W/{current}", key_id=None)
    assert custom_keys(defs) == []


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs (not even `except Exception`)."""


def _kill_at(monkeypatch: pytest.MonkeyPatch, step: int) -> list[str]:
    """Make the ``step``-th durable file operation (fsync, rename, unlink) of a write raise :class:`Killed`."""
    done: list[str] = []
    for name in ("fsync", "replace", "unlink"):
        real = getattr(os, name)

        def operation(*args: Any, _real: Any = real, _name: str = name, **kwargs: Any) -> Any:
            if len(done) + 1 == step:
                raise Killed
            done.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(os, name, operation)
    return done


def test_a_kill_at_any_step_leaves_the_old_set_or_the_new(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    new_set = [DOCS_METRIC, {**DOCS_METRIC, "key": "docs_quality_max", "aggregation": "max"}]
    outcomes = []
    for step in range(1, 100):
        root = write_defs(tmp_path / f"defs{step}")
        with monkeypatch.context() as patch:
            done = _kill_at(patch, step)
            try:
                replace_definitions(root, WS, new_set, if_match=None, key_id="ms_k")
                finished = True
            except Killed:
                finished = False
        seen = custom_keys(root)  # the loader, right after the kill: no error, a whole set
        assert seen in (OLD_KEYS, ["docs_quality", "docs_quality_max"]), (step, done, seen)
        outcomes.append(seen == OLD_KEYS)
        # The next operation finishes a committed change or drops an uncommitted one.
        history = settings_store.history(root, WS)
        assert custom_keys(root) == seen
        assert [c.version for c in history] == ([] if seen == OLD_KEYS else [1])
        ws_dir = root / "workspaces" / WS
        assert not (ws_dir / PENDING_DEFINITIONS).exists()
        assert not [p for p in ws_dir.rglob("*") if p.name.endswith((".tmp", ".pending.json"))]
        if finished:
            break
    else:
        pytest.fail("the write never finished")
    # Both outcomes happened: kills before the commit point and after it.
    assert True in outcomes and False in outcomes and len(outcomes) > 5


# A child that SIGKILLs itself at the N-th durable operation of a write: no finally, no flush, as a real kill.
_KILLED_CHILD = """
import os, signal, sys
from pathlib import Path
from metricstore.settings_store import replace_definitions
from tests.api_helpers import WS
from tests.conftest import DOCS_METRIC
step, done = int(sys.argv[2]), []
for name in ("fsync", "replace", "unlink"):
    def operation(*args, _real=getattr(os, name), **kwargs):
        done.append(1)
        if len(done) == step:
            os.kill(os.getpid(), signal.SIGKILL)
        return _real(*args, **kwargs)
    setattr(os, name, operation)
replace_definitions(Path(sys.argv[1]), WS, [DOCS_METRIC], if_match=None, key_id="ms_k")
"""


@pytest.mark.parametrize("step", [3, 6, 7, 10])
def test_a_sigkilled_writer_leaves_the_old_set_or_the_new(tmp_path: Path, step: int) -> None:
    root = write_defs(tmp_path / "defs")
    child = subprocess.run([sys.executable, "-c", _KILLED_CHILD, str(root), str(step)], cwd=REPO, check=False)
    assert child.returncode == -signal.SIGKILL
    seen = custom_keys(root)
    assert seen in (OLD_KEYS, ["docs_quality"])
    # op 6 is the rename that commits (after recovery's unlink and the staged record's fsync, rename, fsync, fsync)
    assert seen == (OLD_KEYS if step <= 6 else ["docs_quality"])
    assert [c.version for c in settings_store.history(root, WS)] == ([] if seen == OLD_KEYS else [1])
    assert custom_keys(root) == seen


def test_concurrent_writers_with_the_same_etag_one_wins(defs: Path) -> None:
    etag = read_definitions(defs, WS).etag

    def put(key: str) -> str:
        try:
            replace_definitions(defs, WS, [{**DOCS_METRIC, "key": key}], if_match=etag, key_id=key)
        except StaleEtag:
            return "stale"
        return "ok"

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(put, ["a1", "a2", "a3", "a4"]))
    assert sorted(outcomes) == ["ok", "stale", "stale", "stale"]
    (change,) = settings_store.history(defs, WS)
    assert custom_keys(defs) == [change.key_id]


def test_the_loader_waits_for_a_settings_change_in_progress(tmp_path: Path) -> None:
    import threading

    from metricstore.catalog_loader import collect_catalog, settings_write_lock

    defs = write_defs(tmp_path / "defs")
    replace_definitions(defs, WS, [DOCS_METRIC], if_match=None, key_id=None)  # the workspace has its lock file
    loaded: list[int] = []
    with settings_write_lock(defs / "workspaces" / WS):
        assert len(collect_catalog(defs)[0].custom[WS]) == 1  # the writing thread reads without waiting on itself
        reader = threading.Thread(target=lambda: loaded.append(len(collect_catalog(defs)[0].custom[WS])))
        reader.start()
        reader.join(timeout=0.3)
        assert reader.is_alive() and loaded == []  # another reader waits for the change to end
    reader.join(timeout=10)
    assert loaded == [1]
