"""`metricstore webhooks`: post-call webhooks (CONTRACT §7): a new signing secret, a local receiver that verifies
what is sent, and the delivery commands."""

from __future__ import annotations

import click
from pydantic import TypeAdapter, ValidationError

from metricstore.config import Settings
from metricstore.definitions import WebhookSecret
from metricstore.workspace_settings import WorkspaceFileInvalid, new_secret, workspace_webhook


@click.group()
def webhooks() -> None:
    """Post-call webhooks: secrets, a local receiver, delivery, replay, status."""


@webhooks.command("secret")
def webhooks_secret() -> None:
    """Print a new signing secret (whsec_ and the base64 of 32 random bytes) for a workspace's `webhook.secret`."""
    click.echo(new_secret())


@webhooks.command("listen")
@click.option("--port", type=click.IntRange(0, 65535), required=True, help="The port to listen on (0: any free port).")
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--secret", help="The signing secret (whsec_…) to verify with.")
@click.option(
    "--workspace",
    "workspace_id",
    help="Verify with this workspace's webhook secret (from $METRICSTORE_METRIC_DEFS) instead of --secret.",
)
@click.option("--json", "as_json", is_flag=True, help="Print each verified body as one JSON line (the rest to stderr).")
def webhooks_listen(port: int, host: str, secret: str | None, workspace_id: str | None, as_json: bool) -> None:
    """A local receiver: verify each POSTed delivery's signature and print one line per delivery (time,
    webhook-id, conversation, metrics, required metrics without a value, verified/duplicate), or REJECTED with
    a 400 for a bad signature. Point a workspace's webhook at it with `allow_private_addresses: true`. Ctrl-C
    stops it."""
    from metricstore.webhooks.listen import WebhookListener

    secret = _listen_secret(secret, workspace_id)
    try:
        listener = WebhookListener(secret, host=host, port=port, as_json=as_json)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    with listener:
        click.echo(f"listening on {listener.url} (Ctrl-C to stop)", err=True)
        counts = listener.serve_until_interrupted()
    click.echo(f"stopped: {counts.summary()}", err=True)


def _listen_secret(secret: str | None, workspace_id: str | None) -> str:
    """The secret given, or the workspace's; a usage error unless exactly one is given and it is valid."""
    if (secret is None) == (workspace_id is None):
        raise click.UsageError("give either --secret or --workspace")
    if workspace_id is not None:
        root = Settings.from_env().metric_defs
        try:
            webhook = workspace_webhook(root, workspace_id)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--workspace") from None
        except WorkspaceFileInvalid as exc:
            raise click.ClickException(f"workspace {workspace_id}: {exc}") from None
        if webhook is None:
            raise click.ClickException(
                f"workspace {workspace_id} has no webhook in {root}: set one (workspace.yaml or "
                f"PUT /v1/{workspace_id}/settings/webhook) or pass --secret"
            )
        click.echo(f"verifying with workspace {workspace_id}'s secret; its webhook URL is {webhook.url}", err=True)
        return webhook.secret
    try:
        return TypeAdapter(WebhookSecret).validate_python(secret)
    except ValidationError as exc:
        raise click.BadParameter(exc.errors()[0]["msg"], param_hint="--secret") from None
