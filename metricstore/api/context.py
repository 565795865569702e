"""What every request needs: the settings, the key store, the published warehouse and the definitions."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated

import duckdb
from fastapi import Depends, Request

from metricstore.api.cache import AnswerCache, CatalogCache
from metricstore.api.keys import KeyStore
from metricstore.catalog_loader import MetricCatalog
from metricstore.config import Settings
from metricstore.evaluation.run import ClientFactory
from metricstore.published import NotPublishedError, open_published


class PublishedReader:
    """Connections to the published warehouse for concurrent requests, following the job's atomic replacements.

    DuckDB shares one database per file path within a process: while any connection to the replaced file is
    open, connecting to the path again gives the *old* database. So when the file's inode changes, new requests
    wait until the requests still reading the old snapshot are done, then the old database is closed and the
    new one opened. One connection stays open per snapshot so that its caches outlive a request."""

    def __init__(self, settings: Settings):
        self._settings = settings
        self._turn = threading.Condition()
        self._identity: tuple[int, int] | None = None
        self._anchor: duckdb.DuckDBPyConnection | None = None
        self._in_flight = 0

    def on_disk(self) -> tuple[int, int]:
        """The snapshot the published path names now (file device and inode); :class:`NotPublishedError` before
        the first publish."""
        try:
            stat = self._settings.published.stat()
        except FileNotFoundError:
            raise NotPublishedError(
                f"nothing published at {self._settings.published} yet: run the job first (`metricstore run`)"
            ) from None
        return stat.st_dev, stat.st_ino

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection to the snapshot published now; :class:`NotPublishedError` before the first."""
        with self._turn:
            identity = self.on_disk()
            while identity != self._identity and self._in_flight:
                self._turn.wait()
                identity = self.on_disk()
            if identity != self._identity:
                if self._anchor is not None:
                    self._anchor.close()
                # Identity read before opening: a replacement in between costs one more reopen, never staleness.
                self._anchor, self._identity = open_published(self._settings), identity
            conn = open_published(self._settings)
            self._in_flight += 1
        try:
            yield conn
        finally:
            conn.close()
            with self._turn:
                self._in_flight -= 1
                self._turn.notify_all()

    @property
    def snapshot(self) -> tuple[int, int] | None:
        """The snapshot requests read now (file device and inode); it does not change while a request reads."""
        return self._identity

    def close(self) -> None:
        """Close the open snapshot (when the app shuts down)."""
        with self._turn:
            if self._anchor is not None:
                self._anchor.close()
            self._anchor, self._identity = None, None


@dataclass
class ApiContext:
    """One app's state, built by ``create_app``."""

    settings: Settings
    keys: KeyStore
    published: PublishedReader
    client_factory: ClientFactory
    catalogs: CatalogCache
    answers: AnswerCache


async def get_context(request: Request) -> ApiContext:  # async: cheap dependencies stay on the event loop
    context: ApiContext = request.app.state.context
    return context


async def metric_catalog(context: Annotated[ApiContext, Depends(get_context)]) -> MetricCatalog:
    """The definitions as the next run will read them (a settings change shows at the next request)."""
    return context.catalogs.current()


Context = Annotated[ApiContext, Depends(get_context)]
Catalog = Annotated[MetricCatalog, Depends(metric_catalog)]
