"""``/v1/{ws}/settings/webhook``: read and replace a workspace's post-call webhook (CONTRACT §7). Admin only: the
answer shows the signing secret."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Response
from pydantic import BaseModel, ConfigDict, Field

from metricstore import workspace_settings
from metricstore.api.auth import Admin, WorkspaceId
from metricstore.api.context import Context
from metricstore.api.errors import error_responses
from metricstore.settings_schema import WebhookSettings
from metricstore.workspace_settings import WebhookView

router = APIRouter(prefix="/v1/{ws}/settings/webhook", tags=["settings"])

_ETAG_HEADER = {
    "ETag": {
        "description": "The version of the webhook settings: send it back as If-Match.",
        "schema": {"type": "string"},
    }
}
_FILE_INVALID: dict[int | str, dict[str, Any]] = {
    409: {
        **error_responses(409)[409],
        "description": "The workspace's workspace.yaml on the server is invalid (every problem in `details`)",
    }
}


class WebhookResponse(BaseModel):
    webhook: WebhookSettings | None = Field(
        description="The workspace's post-call webhook, its secret included; null when none is configured."
    )


class WebhookUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    webhook: WebhookSettings | None = Field(
        description="The new webhook settings, the whole block (omitted `enabled` and `allow_private_addresses` "
        "take their defaults); null removes the webhook."
    )


def _shown(view: WebhookView, response: Response) -> WebhookResponse:
    response.headers["ETag"] = view.etag
    return WebhookResponse(webhook=view.webhook)


@router.get(
    "",
    response_model=WebhookResponse,
    responses={200: {"headers": _ETAG_HEADER}, **error_responses(401, 403, 422), **_FILE_INVALID},
)
def read_webhook(ws: WorkspaceId, _: Admin, context: Context, response: Response) -> WebhookResponse:
    """The workspace's post-call webhook (admin, owner: it shows the secret). 409 when the workspace's
    workspace.yaml is invalid on the server."""
    return _shown(workspace_settings.read_webhook(context.settings.metric_defs, ws), response)


@router.put(
    "",
    response_model=WebhookResponse,
    responses={200: {"headers": _ETAG_HEADER}, **error_responses(400, 401, 403, 412, 422), **_FILE_INVALID},
)
def replace_webhook(
    ws: WorkspaceId,
    body: WebhookUpdate,
    _: Admin,
    context: Context,
    response: Response,
    if_match: Annotated[str | None, Header(description="The ETag the change is based on; 412 if stale.")] = None,
) -> WebhookResponse:
    """Set or remove the workspace's post-call webhook (admin, owner); 422 names each invalid field. The other
    settings of workspace.yaml are kept. Takes effect on the next run (or `metricstore webhooks deliver`)."""
    view = workspace_settings.replace_webhook(context.settings.metric_defs, ws, body.webhook, if_match=if_match)
    return _shown(view, response)
