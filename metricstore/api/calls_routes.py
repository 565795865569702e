"""``/api/v1/call/get-metric``: the post-call record of a conversation, in the post-call API's own shape."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from metricstore.api.auth import AnyKey
from metricstore.api.context import Catalog, Context
from metricstore.api.errors import error_responses
from metricstore.post_call import PostCallRecord, post_call_record

router = APIRouter(prefix="/api/v1/call", tags=["post-call"])


@router.get("/get-metric", response_model=PostCallRecord, responses=error_responses(401, 404, 422, 503))
async def get_metric(
    key: AnyKey,
    context: Context,
    catalog: Catalog,
    call_id: Annotated[str | None, Query(alias="callId", max_length=256, description="The conversation id.")] = None,
    agent_id: Annotated[str | None, Query(alias="agentId", max_length=256, description="The agent's id.")] = None,
    contact_id: Annotated[str | None, Query(alias="contactId", max_length=256, description="The contact's id.")] = None,
) -> Response:
    """The post-call record (call fields, default metrics, ``customMetrics`` and ``metricSchema``) of the call
    ``callId``, or of the latest call of ``agentId`` and/or ``contactId``, in the key's workspace. Give at least one."""
    return await context.answers.answer(
        ("get-metric", key.workspace_id, call_id, agent_id, contact_id),
        published=context.published,
        catalog=catalog,
        compute=lambda conn: post_call_record(
            conn, catalog, key.workspace_id, call_id=call_id, agent_id=agent_id, contact_id=contact_id
        ),
    )
