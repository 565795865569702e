"""One error shape for every status: ``{"error": {"code", "message", "details": [...]}}``.

FastAPI's own errors (request validation, unknown routes, wrong methods) and the domain's exceptions are all
turned into it here, so a client parses one shape whatever went wrong.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from metricstore.catalog_loader import DefinitionError, DefinitionsInvalid
from metricstore.evaluation.on_demand import OnDemandError
from metricstore.published import NotPublishedError
from metricstore.query import QueryError
from metricstore.settings_store import DefinitionsRejected, StaleEtag
from metricstore.workspace_settings import WorkspaceFileInvalid

log = logging.getLogger(__name__)


class ErrorDetail(BaseModel):
    """One problem: the field (``query.limit``, ``body.definitions.0``, or a definition's field), the metric
    key it belongs to when it is about a definition, and what is wrong."""

    key: str | None = None
    field: str
    message: str


class ErrorBody(BaseModel):
    code: str = Field(description="Stable, machine-readable: e.g. unauthorized, not_found, invalid_request.")
    message: str
    details: list[ErrorDetail] = Field(default_factory=list)


class ErrorResponse(BaseModel):
    """Every error the API returns."""

    error: ErrorBody


class ApiError(Exception):
    """An error response raised from a route or dependency."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: list[ErrorDetail] | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.details = details or []
        self.headers = headers


_DESCRIPTIONS = {
    400: "The body could not be read (not JSON, or not the declared content type)",
    401: "No valid API key (missing, unknown or revoked)",
    403: "The key is for another workspace, or its role may not do this",
    404: "Not found",
    409: "Conflict",
    412: "If-Match names another version of the settings",
    422: "Invalid parameters or body (every problem in `details`)",
    500: "Internal error",
    502: "The model call failed",
    503: "Nothing published yet, or no model key configured",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these error statuses, all with the one error shape."""
    return {s: {"model": ErrorResponse, "description": _DESCRIPTIONS[s]} for s in statuses}


# FastAPI's 404/405 carry no code of their own: name them from the status.
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 403: "forbidden"}
_QUERY_STATUS = {"unknown_metric": 404, "unknown_call": 404, "invalid_parameter": 422}
_ON_DEMAND_STATUS = {
    "unknown_metric": 404,
    "unknown_conversation": 404,
    "unsupported_mode": 422,
    "prompt_error": 422,
    "no_api_key": 503,
    "model_error": 502,
}


def _respond(
    status: int,
    code: str,
    message: str,
    details: list[ErrorDetail] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = ErrorResponse(error=ErrorBody(code=code, message=message, details=details or []))
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


def _definition_details(errors: list[DefinitionError]) -> list[ErrorDetail]:
    return [ErrorDetail(key=e.key, field=e.field, message=e.message) for e in errors]


def install_error_handlers(app: FastAPI, routes: list[APIRoute]) -> None:
    """Make every error of ``app`` an :class:`ErrorResponse`; ``routes`` (all of them) name a 405's Allow header."""

    def allowed_methods(path: str) -> str:
        # Starlette's 405 names the methods of the first route whose path matched; a path has one route per method.
        return ", ".join(sorted({m for r in routes if r.path_regex.match(path) for m in r.methods or ()}))

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return _respond(exc.status, exc.code, exc.message, exc.details, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(request.url.path)
        return _respond(exc.status_code, code, str(exc.detail), headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            ErrorDetail(field=".".join(str(p) for p in err["loc"]), message=str(err["msg"])) for err in exc.errors()
        ]
        return _respond(422, "invalid_request", "the request is not valid: see details", details)

    @app.exception_handler(NotPublishedError)
    async def not_published(_: Request, exc: NotPublishedError) -> JSONResponse:
        return _respond(503, "not_published", str(exc))

    @app.exception_handler(QueryError)
    async def query_error(_: Request, exc: QueryError) -> JSONResponse:
        return _respond(_QUERY_STATUS.get(exc.kind, 422), exc.kind, str(exc))

    @app.exception_handler(OnDemandError)
    async def on_demand_error(_: Request, exc: OnDemandError) -> JSONResponse:
        return _respond(_ON_DEMAND_STATUS.get(exc.kind, 500), exc.kind, str(exc))

    @app.exception_handler(DefinitionsRejected)
    async def definitions_rejected(_: Request, exc: DefinitionsRejected) -> JSONResponse:
        return _respond(422, "invalid_definitions", str(exc), _definition_details(exc.errors))

    @app.exception_handler(StaleEtag)
    async def stale_etag(_: Request, exc: StaleEtag) -> JSONResponse:
        return _respond(412, "precondition_failed", str(exc), headers={"ETag": exc.current})

    @app.exception_handler(WorkspaceFileInvalid)
    async def workspace_file_invalid(_: Request, exc: WorkspaceFileInvalid) -> JSONResponse:
        message = "the workspace's workspace.yaml on the server is invalid: fix the fields in details"
        details = [ErrorDetail(field=e.field, message=e.message) for e in exc.errors]
        return _respond(409, "workspace_settings_invalid", message, details)

    @app.exception_handler(DefinitionsInvalid)
    async def definitions_invalid(_: Request, exc: DefinitionsInvalid) -> JSONResponse:
        log.error("metric definitions are invalid: %s", exc)
        message = "the metric definitions on the server are invalid: fix them (`metricstore defs validate`)"
        return _respond(500, "definitions_invalid", message, _definition_details(exc.errors))

    @app.exception_handler(Exception)
    async def internal_error(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return _respond(500, "internal_error", "internal server error")
