"""Bearer API keys as dependencies: 401 without a live key, 403 for another workspace or a role that may not.

Declared with ``Security(HTTPBearer)`` so that the OpenAPI document carries the bearer scheme (and the
interactive docs an Authorize button). Keys are never logged: only their public id is.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from metricstore.api.context import Context
from metricstore.api.errors import ApiError
from metricstore.api.keys import WORKSPACE_PATTERN, ApiKey

bearer = HTTPBearer(
    auto_error=False,  # our own 401, in the one error shape
    scheme_name="ApiKey",
    description="An API key from `metricstore keys create`: `Authorization: Bearer ms_…`.",
)

WorkspaceId = Annotated[
    str, Path(pattern=WORKSPACE_PATTERN, description="The workspace; it must be the API key's.", examples=["ws_demo"])
]


async def api_key(
    context: Context, credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]
) -> ApiKey:
    """The live key the request carries (async: one indexed SQLite look-up, cheaper on the event loop than a
    hop to a worker thread)."""
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None:
        raise ApiError(401, "unauthorized", "send an API key: Authorization: Bearer ms_…", headers=challenge)
    key = context.keys.authenticate(credentials.credentials)
    if key is None:
        raise ApiError(401, "unauthorized", "the API key is unknown or revoked", headers=challenge)
    return key


async def workspace_reader(ws: WorkspaceId, key: Annotated[ApiKey, Depends(api_key)]) -> ApiKey:
    """A key of workspace ``ws``: every role reads."""
    if key.workspace_id != ws:
        raise ApiError(403, "forbidden", f"API key {key.key_id} is not for workspace {ws}")
    return key


async def workspace_admin(key: Annotated[ApiKey, Depends(workspace_reader)]) -> ApiKey:
    """A key of workspace ``ws`` whose role may change its settings (admin, owner)."""
    if not key.can_write_settings:
        raise ApiError(403, "forbidden", f"API key {key.key_id} is a {key.role} key: changing settings needs admin")
    return key


AnyKey = Annotated[ApiKey, Depends(api_key)]
Reader = Annotated[ApiKey, Depends(workspace_reader)]
Admin = Annotated[ApiKey, Depends(workspace_admin)]
