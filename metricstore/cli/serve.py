"""`metricstore serve` (the HTTP API) and `metricstore keys` (its API keys)."""

from __future__ import annotations

import json
import sys

import click

from metricstore.api.keys import ROLES
from metricstore.config import Settings


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Server processes (each with its own answer cache); about one per core for heavy read traffic.",
)
def serve(host: str, port: int, workers: int) -> None:
    """Serve the HTTP API (OpenAPI at /openapi.json, interactive docs at /docs)."""
    import uvicorn

    # The factory builds the app from the environment in each worker process (Settings.from_env()).
    uvicorn.run("metricstore.api.app:create_app", factory=True, host=host, port=port, workers=workers)


@click.group()
def keys() -> None:
    """API keys of the HTTP API, each bound to one workspace and a role (only a hash is stored)."""


@keys.command("create")
@click.option("--workspace", "workspace_id", required=True, help="The workspace the key may read (and write).")
@click.option("--role", type=click.Choice(ROLES), required=True, help="viewer reads; admin and owner also write.")
@click.option("--json", "as_json", is_flag=True, help='Print {"key", "id", "workspace", "role"} as JSON.')
def keys_create(workspace_id: str, role: str, as_json: bool) -> None:
    """Create a key and print it: this is the only time it is shown."""
    from metricstore.api.keys import KeyStore

    try:
        new = KeyStore(Settings.from_env().api_keys).create(workspace_id, role)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    info = new.info
    if as_json:
        click.echo(json.dumps({"key": new.key, "id": info.key_id, "workspace": info.workspace_id, "role": info.role}))
        return
    click.echo(new.key)
    click.echo(f"key {info.key_id} ({info.role} of {info.workspace_id}): store it now, it is not shown again", err=True)


@keys.command("list")
@click.option("--workspace", "workspace_id", help="Only the keys of this workspace.")
@click.option("--json", "as_json", is_flag=True, help="Print the keys as JSON.")
def keys_list(workspace_id: str | None, as_json: bool) -> None:
    """List keys by their public id (never the keys themselves)."""
    from dataclasses import asdict

    from metricstore.api.keys import KeyStore

    found = KeyStore(Settings.from_env().api_keys).list_keys(workspace_id)
    if as_json:
        click.echo(json.dumps([asdict(k) for k in found], indent=2))
        return
    for k in found:
        state = f"revoked {k.revoked_at}" if k.revoked_at else f"last used {k.last_used_at or 'never'}"
        click.echo(f"{k.key_id}  {k.workspace_id}  {k.role:<6}  created {k.created_at}  {state}")
    if not found:
        click.echo("(no keys)")


@keys.command("revoke")
@click.argument("key_id")
def keys_revoke(key_id: str) -> None:
    """Revoke the key KEY_ID (as `keys list` shows it); requests with it get 401 from now on."""
    from metricstore.api.keys import KeyStore

    revoked = KeyStore(Settings.from_env().api_keys).revoke(key_id)
    if revoked is None:
        click.echo(f"error: no key {key_id}", err=True)
        sys.exit(1)
    click.echo(f"revoked {key_id} ({revoked.role} of {revoked.workspace_id})")
