"""`metricstore webhooks`: post-call webhooks (CONTRACT §7): a new signing secret, a local receiver that verifies
what is sent, and the delivery commands."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import TYPE_CHECKING

import click
from pydantic import TypeAdapter, ValidationError

from metricstore.cli.published_query import published_query
from metricstore.cli.tables import echo_table
from metricstore.cli.writing import load_valid_catalog, writing
from metricstore.config import Settings
from metricstore.settings_schema import WebhookSecret
from metricstore.workspace_settings import WorkspaceFileInvalid, new_secret, workspace_webhook

if TYPE_CHECKING:
    from metricstore.webhooks.record import SendResult

# --since / --until: a day, or a minute (UTC)
_TIMES = ["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]


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


def _echo_sent(sent: SendResult) -> None:
    click.echo(
        f"attempted {sent.attempted:,}: delivered {sent.delivered:,}, failed (retried later) {sent.failed:,}, "
        f"dead {sent.dead:,}, refused by the SSRF guard {sent.refused:,}; not tried this time {sent.deferred:,}, "
        f"held for a disabled endpoint {sent.held:,} ({sent.seconds:.1f} s)"
    )
    for reason in sent.disabled:
        click.echo(f"endpoint disabled: {reason} (`metricstore webhooks enable --workspace …` after fixing it)")
    for error, count in sent.errors.most_common(5):
        click.echo(f"  {count:>5} × {error}")


@webhooks.command()
@click.option("--concurrency", default=16, show_default=True, help="Deliveries in flight at once.")
def deliver(concurrency: int) -> None:
    """Send every delivery that is due now (first attempts and retries whose time has come), without a run."""
    from metricstore.webhooks.sender import SendSettings, deliver_due

    catalog = load_valid_catalog()
    with writing("webhooks deliver") as (conn, _):
        sent = deliver_due(conn, catalog, settings=SendSettings(concurrency=concurrency))
    _echo_sent(sent)


@webhooks.command()
@click.option("--workspace", "workspace_id", required=True, help="The workspace.")
@click.option("--conversation", "conversation_ids", multiple=True, help="A conversation id (repeatable).")
@click.option("--since", type=click.DateTime(_TIMES), help="Conversations whose latest snapshot is at or after (UTC).")
@click.option("--until", type=click.DateTime(_TIMES), help="… and before this time (UTC).")
def replay(
    workspace_id: str, conversation_ids: tuple[str, ...], since: datetime | None, until: datetime | None
) -> None:
    """Send conversations' post-call records again now: the current record, under its message's webhook-id when
    the content is unchanged (delivered, failed or dead), under a new one when it changed."""
    from metricstore.webhooks.outbox import queue_replay, webhook_targets
    from metricstore.webhooks.sender import deliver_due

    if bool(conversation_ids) == bool(since or until):
        raise click.UsageError("give --conversation ID (repeatable), or --since and/or --until")
    catalog = load_valid_catalog()
    if workspace_id not in webhook_targets(catalog):
        click.echo(f"error: workspace {workspace_id} has no enabled webhook (its workspace.yaml `webhook:`)", err=True)
        sys.exit(2)
    with writing("webhooks replay") as (conn, _):
        queued = queue_replay(
            conn, catalog, workspace_id, conversation_ids=list(conversation_ids) or None, since=since, until=until
        )
        sent = deliver_due(conn, catalog, delivery_ids=queued.delivery_ids)
    if not queued.queued:
        click.echo("no conversation matched: nothing replayed", err=True)
        sys.exit(2)
    click.echo(f"replayed {queued.queued:,} conversation(s)")
    _echo_sent(sent)


@webhooks.command()
@click.option("--workspace", "workspace_id", help="Only this workspace.")
@click.option("--json", "as_json", is_flag=True, help="JSON instead of a table.")
def status(workspace_id: str | None, as_json: bool) -> None:
    """Each workspace's webhook: its endpoint (active, or disabled and why), deliveries due now, retrying, dead,
    delivered in the last 24 h (as of the last publish)."""
    from metricstore.webhooks.status import webhook_status

    rows = published_query(lambda conn, catalog: webhook_status(conn, catalog))
    rows = [r for r in rows if workspace_id in (None, r.workspace_id)]
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in rows]))
        return
    echo_table(
        [
            "workspace",
            "url",
            "setting",
            "endpoint",
            "due now",
            "retrying",
            "dead",
            "delivered 24h",
            "next attempt",
            "last error",
        ],
        [
            [
                r.workspace_id,
                r.url,
                r.setting,
                r.endpoint + (f" ({r.reason})" if r.reason else ""),
                r.due_now,
                r.retrying,
                r.dead,
                r.delivered_24h,
                r.next_attempt_at,
                r.last_error,
            ]
            for r in rows
        ],
        empty="no workspace has a webhook configured",
    )


@webhooks.command()
@click.option("--workspace", "workspace_id", required=True, help="The workspace.")
def enable(workspace_id: str) -> None:
    """Enable a workspace's endpoint again after it was disabled (a 410, or days of failures): what it held is
    sent by the next run or `deliver`."""
    from metricstore.webhooks.sender import enable_endpoint

    webhook = load_valid_catalog().settings_for(workspace_id).webhook
    if webhook is None:
        click.echo(f"error: workspace {workspace_id} has no webhook configured", err=True)
        sys.exit(2)
    with writing("webhooks enable") as (conn, _):
        changed = enable_endpoint(conn, workspace_id, webhook.url)
    click.echo(f"{webhook.url}: enabled" if changed else f"{webhook.url}: was not disabled")
