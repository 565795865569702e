"""A workspace's custom metric definitions as the settings API reads and replaces them, with their history.

The definitions stay YAML under ``<defs>/workspaces/<ws>/``, read by the one loader on the next run. A
replacement writes the whole custom set as ``metrics.yaml`` and removes the workspace's other definition files
(``workspace.yaml``, its settings, is left alone). All or nothing, even when the process is killed mid-way:

1. the history record is staged (``.history/.pending.json``: not yet history);
2. the new set is written to ``.metrics.yaml.pending`` (temp file, fsync, rename): the commit point. From here
   on the loader reads that file *instead of* every other definition file of the workspace
   (``catalog_loader.PENDING_DEFINITIONS``), so it sees the new set whole;
3. the other definition files are removed, the staged record becomes ``.history/v000N.json`` and the pending
   file is renamed to ``metrics.yaml``, which ends the change.

A kill before step 2 leaves the old set (the staged record is dropped later); after it, the next operation on
the workspace finishes step 3 (:func:`_recover`). Writers are serialised by an fcntl lock on
``.settings.lock``; nothing here touches the DuckDB warehouse, so a change made while a job runs takes effect
on the next run.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field

from metricstore.catalog_loader import (
    PENDING_DEFINITIONS,
    DefinitionError,
    LoadedDefinition,
    MetricCatalog,
    check_custom_definitions,
    collect_catalog,
    settings_write_lock,
)
from metricstore.durable import fsync_directory, write_atomically

WORKSPACE_FILE = "workspace.yaml"
METRICS_FILE = "metrics.yaml"
HISTORY_DIR = ".history"
STAGED_RECORD = ".pending.json"
MODELINE = "# yaml-language-server: $schema=../../schema/metric-definitions.schema.json\n"


class ChangeSummary(BaseModel):
    """What one accepted change did to the custom set."""

    added: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)
    changed: dict[str, list[str]] = Field(default_factory=dict, description="key → the fields that changed")


class Change(BaseModel):
    """One accepted change: ``.history/v000N.json``."""

    version: int
    at: str = Field(description="When, UTC ISO-8601.")
    key_id: str | None = Field(description="The API key that made it (None outside the API).")
    etag: str = Field(description="The ETag of the custom set after the change.")
    summary: ChangeSummary
    definitions: list[dict[str, Any]] = Field(description="The whole custom set after the change.")


@dataclass(frozen=True)
class WorkspaceDefinitions:
    """The definitions that apply to a workspace, as the settings API shows them."""

    definitions: list[dict[str, Any]]  # stored form plus `builtin` and `definition_version`; built-ins first
    etag: str  # a digest of the custom set: If-Match compares against it
    version: int | None  # the latest accepted change, None before the first


class DefinitionsRejected(Exception):
    """The new set has errors; ``errors`` lists every one."""

    def __init__(self, errors: list[DefinitionError]):
        self.errors = errors
        super().__init__(f"{len(errors)} error(s) in the definitions")


class StaleEtag(Exception):
    """If-Match named another version of the settings (the custom set, the webhook) than the current one."""

    def __init__(self, current: str, what: str = "the definitions"):
        self.current = current
        super().__init__(f"{what} changed since that version (now {current}): read them again")


def read_definitions(root: Path, workspace_id: str) -> WorkspaceDefinitions:
    """Built-in and custom definitions of ``workspace_id`` (a workspace without a folder has only built-ins)."""
    _finish_interrupted(workspace_dir(root, workspace_id))
    return _current(root, workspace_id)


def replace_definitions(
    root: Path, workspace_id: str, items: list[Any], *, if_match: str | None, key_id: str | None
) -> tuple[WorkspaceDefinitions, Change | None]:
    """Replace the custom set of ``workspace_id`` with ``items`` (what a GET returned, built-ins included, or
    only the custom ones); the change, or None when the set is unchanged. Raises :class:`StaleEtag` and
    :class:`DefinitionsRejected`."""
    ws_dir = workspace_dir(root, workspace_id)
    ws_dir.mkdir(parents=True, exist_ok=True)
    with settings_write_lock(ws_dir):
        _recover(ws_dir)
        catalog, _ = collect_catalog(root)
        before = [d.definition.stored_form() for d in catalog.custom.get(workspace_id, [])]
        if if_match is not None and not if_match_holds(if_match, content_etag(before)):
            raise StaleEtag(content_etag(before))
        new = _validate(catalog, workspace_id, items)
        after = [d.definition.stored_form() for d in new]
        if after == before:
            return _current(root, workspace_id), None
        change = Change(
            version=_latest_version(ws_dir) + 1,
            at=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            key_id=key_id,
            etag=content_etag(after),
            summary=_summary(before, after),
            definitions=after,
        )
        _commit(ws_dir, _yaml_text(after), change)
        return _current(root, workspace_id), change


def history(root: Path, workspace_id: str) -> list[Change]:
    """Every accepted change of ``workspace_id``, newest first."""
    ws_dir = workspace_dir(root, workspace_id)
    _finish_interrupted(ws_dir)
    records = [Change.model_validate_json(p.read_text(encoding="utf-8")) for p in _history_files(ws_dir)]
    return sorted(records, key=lambda c: c.version, reverse=True)


def workspace_dir(root: Path, workspace_id: str) -> Path:
    """The folder of ``workspace_id`` under the definitions ``root`` (it may not exist yet)."""
    # Workspace ids come from API keys, which only hold path-safe ids; refuse anything else outright.
    if not workspace_id or "/" in workspace_id or workspace_id.startswith("."):
        raise ValueError(f"'{workspace_id}' is not a workspace id")
    return root / "workspaces" / workspace_id


def _current(root: Path, workspace_id: str) -> WorkspaceDefinitions:
    catalog, _ = collect_catalog(root)
    shown = [_shown(d) for d in catalog.definitions_for(workspace_id, include_inactive=True)]
    custom = [d.definition.stored_form() for d in catalog.custom.get(workspace_id, [])]
    ws_dir = workspace_dir(root, workspace_id)
    return WorkspaceDefinitions(shown, content_etag(custom), _latest_version(ws_dir) or None)


def _shown(loaded: LoadedDefinition) -> dict[str, Any]:
    definition = loaded.definition
    return definition.stored_form() | {"builtin": loaded.builtin, "definition_version": definition.definition_version}


def _validate(catalog: MetricCatalog, workspace_id: str, items: list[Any]) -> list[LoadedDefinition]:
    """The custom definitions among ``items``; built-ins sent back (``builtin: true``, as GET shows them) are
    read-only and skipped. Raises :class:`DefinitionsRejected` with every error."""
    file = f"workspaces/{workspace_id}/{METRICS_FILE}"
    builtin_keys = {d.definition.key for d in catalog.builtins}
    custom, errors = [], []
    for index, item in enumerate(items):
        if not (isinstance(item, dict) and item.get("builtin") is True):
            custom.append(item)
        elif item.get("key") not in builtin_keys:
            label = str(item.get("key") or f"#{index}")
            errors.append(DefinitionError(file, label, "builtin", "no built-in metric has this key: drop `builtin`"))
    valid, found = check_custom_definitions(catalog.builtins, workspace_id, custom, file=file)
    errors += found
    if errors:
        raise DefinitionsRejected(errors)
    return valid


def content_etag(content: Any) -> str:
    """The ETag of JSON-like ``content``: a digest of its canonical JSON."""
    digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
    return f'"{digest[:20]}"'


def if_match_holds(if_match: str, etag: str) -> bool:
    """RFC 9110 If-Match: ``*`` or a list of tags (a weak ``W/`` prefix is compared by its tag)."""
    tags = [t.strip().removeprefix("W/") for t in if_match.split(",")]
    return "*" in tags or etag in tags


def _summary(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> ChangeSummary:
    old = {d["key"]: d for d in before}
    new = {d["key"]: d for d in after}
    changed = {
        key: sorted(f for f in old[key].keys() | new[key].keys() if old[key].get(f) != new[key].get(f))
        for key in new
        if key in old and old[key] != new[key]
    }
    return ChangeSummary(
        added=[k for k in new if k not in old], removed=[k for k in old if k not in new], changed=changed
    )


def _yaml_text(forms: list[dict[str, Any]]) -> str:
    body = yaml.safe_dump({"metrics": forms}, sort_keys=False, allow_unicode=True, width=120)
    return MODELINE + "# Written by the settings API (PUT /v1/<ws>/settings/metrics): edits here are kept.\n" + body


def _history_files(ws_dir: Path) -> list[Path]:
    folder = ws_dir / HISTORY_DIR
    return sorted(folder.glob("v*.json")) if folder.is_dir() else []


def _latest_version(ws_dir: Path) -> int:
    return max((int(p.stem[1:]) for p in _history_files(ws_dir)), default=0)


def _definition_files(ws_dir: Path) -> list[Path]:
    """The files the loader reads as the workspace's definitions (every *.yaml/*.yml but workspace.yaml)."""
    return sorted(
        p for p in ws_dir.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file() and p != ws_dir / WORKSPACE_FILE
    )


def _commit(ws_dir: Path, text: str, change: Change) -> None:
    history_dir = ws_dir / HISTORY_DIR
    history_dir.mkdir(exist_ok=True)
    write_atomically(history_dir / STAGED_RECORD, change.model_dump_json(indent=2))
    write_atomically(ws_dir / PENDING_DEFINITIONS, text)  # the commit point
    _apply(ws_dir)


def _apply(ws_dir: Path) -> None:
    """Finish a committed change (idempotent: run again after a kill at any step)."""
    for path in _definition_files(ws_dir):
        if path != ws_dir / METRICS_FILE:
            path.unlink()
            fsync_directory(path.parent)
    staged = ws_dir / HISTORY_DIR / STAGED_RECORD
    if staged.exists():  # before the final rename, which is what marks the change as finished
        version = Change.model_validate_json(staged.read_text(encoding="utf-8")).version
        staged.replace(ws_dir / HISTORY_DIR / f"v{version:04d}.json")
        fsync_directory(staged.parent)
    (ws_dir / PENDING_DEFINITIONS).replace(ws_dir / METRICS_FILE)
    fsync_directory(ws_dir)


def _finish_interrupted(ws_dir: Path) -> None:
    """Before a read: finish or drop what a killed writer left (reads of a clean workspace take no lock, so
    they neither wait for writers nor create files)."""
    history_dir = ws_dir / HISTORY_DIR
    leftovers = [ws_dir / PENDING_DEFINITIONS, history_dir / STAGED_RECORD]
    if any(p.exists() for p in leftovers) or any(ws_dir.glob(".*.tmp")) or any(history_dir.glob(".*.tmp")):
        with settings_write_lock(ws_dir):
            _recover(ws_dir)


def _recover(ws_dir: Path) -> None:
    """Finish a change a killed writer committed, or drop what it staged without committing."""
    for leftover in [*ws_dir.glob(".*.tmp"), *(ws_dir / HISTORY_DIR).glob(".*.tmp")]:
        leftover.unlink()
    if (ws_dir / PENDING_DEFINITIONS).exists():
        _apply(ws_dir)
    else:
        (ws_dir / HISTORY_DIR / STAGED_RECORD).unlink(missing_ok=True)
