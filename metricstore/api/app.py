"""The HTTP API (CONTRACT §6), built by :func:`create_app`: nothing is read from the environment at import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.routing import APIRoute

from metricstore.api import calls_routes, metrics_routes, settings_routes, webhook_settings_routes
from metricstore.api.cache import AnswerCache, CatalogCache
from metricstore.api.context import ApiContext, PublishedReader
from metricstore.api.errors import error_responses, install_error_handlers
from metricstore.api.keys import KeyStore
from metricstore.config import Settings
from metricstore.evaluation.run import ClientFactory, default_client

DESCRIPTION = """Conversation metrics from the metric store's published warehouse, and each workspace's metric
and post-call webhook settings. Every route takes an API key (`Authorization: Bearer ms_…`, from `metricstore keys
create`) bound to one workspace and a role: `viewer` reads, `admin` and `owner` may also replace the settings and
read the webhook's (they hold its signing secret).

Every error has one shape: `{"error": {"code": "…", "message": "…", "details": [{"key", "field", "message"}]}}`.
"""


def create_app(settings: Settings | None = None, *, client_factory: ClientFactory | None = None) -> FastAPI:
    """The API over ``settings`` (default: the environment's); ``client_factory`` makes the Claude client
    on-demand evaluation uses (default: the SDK's, None without ANTHROPIC_API_KEY)."""
    settings = settings or Settings.from_env()
    context = ApiContext(
        settings=settings,
        keys=KeyStore(settings.api_keys),
        published=PublishedReader(settings),
        client_factory=client_factory or default_client,
        catalogs=CatalogCache(settings.metric_defs),
        answers=AnswerCache(),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        context.published.close()

    app = FastAPI(
        title="metricstore",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        responses=error_responses(500),  # any route, in the one error shape like every other status
    )
    app.state.context = context
    routers = [metrics_routes.router, settings_routes.router, webhook_settings_routes.router, calls_routes.router]
    for router in routers:
        app.include_router(router)
    install_error_handlers(app, [r for router in routers for r in router.routes if isinstance(r, APIRoute)])
    return app
