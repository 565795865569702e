"""A workspace's settings file, ``<defs>/workspaces/<ws>/workspace.yaml``, as the settings API reads and changes
its ``webhook:`` block (CONTRACT §7).

The loader reads the file on the next run (:func:`metricstore.catalog_loader.read_workspace_settings`). A change
rewrites it whole under the workspace's settings lock (a temp file renamed over it), keeping its other keys and
its leading comment lines; an existing file keeps its permissions, a new one is readable by its owner only (it
holds the secret).
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from metricstore.catalog_loader import DefinitionError, read_workspace_settings, settings_write_lock
from metricstore.durable import write_atomically
from metricstore.settings_schema import SECRET_PREFIX, WebhookSettings, WorkspaceSettings
from metricstore.settings_store import (
    WORKSPACE_FILE,
    StaleEtag,
    content_etag,
    if_match_holds,
    workspace_dir,
)

NEW_FILE_MODE = 0o600
NEW_FILE_HEADER = "# Settings of workspace {ws} (not a definition file). `webhook` is also set by the settings API.\n"


@dataclass(frozen=True)
class WebhookView:
    """A workspace's webhook settings as the settings API shows them."""

    webhook: WebhookSettings | None  # None: no webhook configured
    etag: str  # a digest of the webhook block: If-Match compares against it


class WorkspaceFileInvalid(Exception):
    """The workspace's ``workspace.yaml`` is invalid (the loader applies the defaults): ``errors`` names every
    problem; a webhook change cannot keep the file's other keys until they are fixed."""

    def __init__(self, errors: list[DefinitionError]):
        self.errors = errors
        super().__init__("workspace.yaml is invalid: " + "; ".join(f"{e.field}: {e.message}" for e in errors))


def new_secret() -> str:
    """A new Standard Webhooks signing secret: ``whsec_`` and the base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def read_webhook(root: Path, workspace_id: str) -> WebhookView:
    """The webhook settings of ``workspace_id`` under the definitions ``root`` (None without a file or a block).
    Raises :class:`WorkspaceFileInvalid`."""
    _, settings = _read(workspace_dir(root, workspace_id))
    return _view(settings.webhook)


def workspace_webhook(root: Path, workspace_id: str) -> WebhookSettings | None:
    """The webhook settings of ``workspace_id``, or None when it has none. Raises :class:`WorkspaceFileInvalid`."""
    return read_webhook(root, workspace_id).webhook


def replace_webhook(
    root: Path, workspace_id: str, webhook: WebhookSettings | None, *, if_match: str | None
) -> WebhookView:
    """Set (or with None remove) the webhook of ``workspace_id``, creating its folder and file when absent.
    Raises :class:`StaleEtag` when ``if_match`` names another version, :class:`WorkspaceFileInvalid` when the
    file's other keys are invalid."""
    ws_dir = workspace_dir(root, workspace_id)
    path = ws_dir / WORKSPACE_FILE
    if webhook is None and not path.exists():  # nothing to remove: no folder, no file is created for it
        current = _view(None)
        if if_match is not None and not if_match_holds(if_match, current.etag):
            raise StaleEtag(current.etag, what="the webhook settings")
        return current
    ws_dir.mkdir(parents=True, exist_ok=True)
    with settings_write_lock(ws_dir):
        existed = path.exists()
        raw, settings = _read(ws_dir, for_change=True)  # the other keys are valid: they are kept as they are
        current = _view(settings.webhook)
        if if_match is not None and not if_match_holds(if_match, current.etag):
            raise StaleEtag(current.etag, what="the webhook settings")
        merged = {key: value for key, value in raw.items() if key != "webhook"}
        if webhook is not None:
            merged["webhook"] = webhook.model_dump(mode="json")
        if merged == raw and existed:
            return current
        header = _leading_comments(path) if existed else NEW_FILE_HEADER.format(ws=workspace_id)
        body = yaml.safe_dump(merged, sort_keys=False, allow_unicode=True, width=120) if merged else ""
        mode = path.stat().st_mode & 0o777 if existed else NEW_FILE_MODE
        write_atomically(path, header + body, mode=mode)
        return _view(webhook)


def _read(ws_dir: Path, *, for_change: bool = False) -> tuple[dict[str, Any], WorkspaceSettings]:
    """The file's mapping and its settings (empty and the defaults without a file). Raises
    :class:`WorkspaceFileInvalid`; ``for_change`` lets an invalid webhook block through (a change replaces it)."""
    path = ws_dir / WORKSPACE_FILE
    if not path.is_file():
        return {}, WorkspaceSettings()
    raw, settings, errors = read_workspace_settings(path)
    if raw is not None and not isinstance(raw, dict):
        raise WorkspaceFileInvalid(errors or [DefinitionError(str(path), "workspace", "-", "not a mapping")])
    if for_change and settings is None and all(e.field.split(".")[0] == "webhook" for e in errors):
        return raw or {}, WorkspaceSettings.model_validate({k: v for k, v in (raw or {}).items() if k != "webhook"})
    if settings is None or errors:
        raise WorkspaceFileInvalid(errors)
    return raw or {}, settings


def _view(webhook: WebhookSettings | None) -> WebhookView:
    return WebhookView(webhook, content_etag(webhook.model_dump(mode="json") if webhook else None))


def _leading_comments(path: Path) -> str:
    """The comment lines a file starts with (kept when it is rewritten; comments elsewhere are not)."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
        if not line.startswith("#"):
            break
        lines.append(line if line.endswith("\n") else line + "\n")
    return "".join(lines)
