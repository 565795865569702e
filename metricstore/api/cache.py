"""Read answers kept for as long as what they were computed from: the published snapshot (immutable until the
job replaces it) and the definitions (reloaded only when their files change). Dashboards poll the same routes
with the same parameters; between two runs the answer cannot change, so it is computed once."""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
from fastapi import Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from metricstore.catalog_loader import MetricCatalog, load_catalog

if TYPE_CHECKING:
    from metricstore.api.context import PublishedReader


class CatalogCache:
    """The definitions as the next run reads them, loaded again only when a file under the folder changed
    (its list of files, their sizes or modification times), so a settings change shows at the next request."""

    def __init__(self, root: Path):
        self._root = root
        self._lock = threading.Lock()
        self._signature: tuple[tuple[str, int, int], ...] | None = None
        self._catalog: MetricCatalog | None = None

    def _files_signature(self) -> tuple[tuple[str, int, int], ...]:
        found = []
        for path in sorted(self._root.rglob("*")) if self._root.is_dir() else []:
            try:
                stat = path.stat()
            except FileNotFoundError:  # replaced by a settings change meanwhile: the next request sees it
                continue
            if ".history" in path.parts or not path.is_file():
                continue
            found.append((str(path), stat.st_size, stat.st_mtime_ns))
        return tuple(found)

    def current(self) -> MetricCatalog:
        """The catalog as ``load_catalog`` gives it: a workspace's invalid definitions are left out (its valid ones
        and every other workspace are served); raises ``DefinitionsInvalid`` only when a built-in is invalid."""
        with self._lock:
            signature = self._files_signature()
            if self._catalog is None or signature != self._signature:
                self._catalog, self._signature = load_catalog(self._root), signature
            return self._catalog


class AnswerCache:
    """JSON answers by route and parameters, valid for one published snapshot and one catalog (least recently used
    out). A hit touches neither DuckDB nor a thread: it is answered on the event loop. Concurrent misses of one
    answer compute it once (the first computes, the others wait for it). Used from the event loop only."""

    def __init__(self, capacity: int = 1024):
        self._capacity = capacity
        self._answers: OrderedDict[Hashable, tuple[MetricCatalog, Hashable, bytes]] = OrderedDict()
        self._computing: dict[tuple[Hashable, Hashable, int], asyncio.Future[bytes]] = {}

    async def answer(
        self,
        key: Hashable,
        *,
        published: PublishedReader,
        catalog: MetricCatalog,
        compute: Callable[[duckdb.DuckDBPyConnection], BaseModel],
    ) -> Response:
        """The answer to ``key`` on the snapshot published now, with this catalog: cached, or ``compute``'s on a
        connection to that snapshot (in a worker thread). :class:`NotPublishedError` before the first publish."""
        snapshot = published.on_disk()
        hit = self._answers.get(key)
        if hit is not None and hit[0] is catalog and hit[1] == snapshot:
            self._answers.move_to_end(key)
            return _json(hit[2])
        flight = (key, snapshot, id(catalog))
        if flight in self._computing:
            return _json(await asyncio.shield(self._computing[flight]))
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._computing[flight] = future
        try:
            read_snapshot, body = await run_in_threadpool(_compute, published, compute)
            future.set_result(body)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # the waiters, if any, raise it; none waiting is not an unretrieved error
            raise
        finally:
            del self._computing[flight]
        self._answers[key] = (catalog, read_snapshot, body)
        self._answers.move_to_end(key)
        while len(self._answers) > self._capacity:
            self._answers.popitem(last=False)
        return _json(body)


def _compute(
    published: PublishedReader, compute: Callable[[duckdb.DuckDBPyConnection], BaseModel]
) -> tuple[Hashable, bytes]:
    with published.connect() as conn:
        # the snapshot this connection reads (it does not change while the connection is open)
        return published.snapshot, compute(conn).model_dump_json(by_alias=True).encode()


def _json(body: bytes) -> Response:
    return Response(content=body, media_type="application/json")
