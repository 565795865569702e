"""Read answers kept for as long as what they were computed from: the published snapshot (immutable until the
job replaces it) and the definitions (reloaded only when their files change). Dashboards poll the same routes
with the same parameters; between two runs the answer cannot change, so it is computed once."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path

from fastapi import Response
from pydantic import BaseModel

from metricstore.catalog_loader import MetricCatalog, load_catalog


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
            if ".history" in path.parts or not path.is_file():
                continue
            stat = path.stat()
            found.append((str(path), stat.st_size, stat.st_mtime_ns))
        return tuple(found)

    def current(self) -> MetricCatalog:
        """The catalog; raises ``DefinitionsInvalid`` like ``load_catalog`` when a definition is invalid."""
        with self._lock:
            signature = self._files_signature()
            if self._catalog is None or signature != self._signature:
                self._catalog, self._signature = load_catalog(self._root), signature
            return self._catalog


class AnswerCache:
    """JSON answers by route and parameters, valid for one snapshot and one catalog (least recently used out)."""

    def __init__(self, capacity: int = 1024):
        self._capacity = capacity
        self._lock = threading.Lock()
        self._answers: OrderedDict[Hashable, tuple[object, Hashable, bytes]] = OrderedDict()

    def answer(
        self, key: Hashable, *, snapshot: Hashable, catalog: MetricCatalog, compute: Callable[[], BaseModel]
    ) -> Response:
        """The cached answer to ``key`` computed on this snapshot with this catalog, or ``compute()``'s."""
        with self._lock:
            hit = self._answers.get(key)
            if hit is not None and hit[0] is catalog and hit[1] == snapshot:
                self._answers.move_to_end(key)
                return _json(hit[2])
        body = compute().model_dump_json(by_alias=True).encode()
        with self._lock:
            self._answers[key] = (catalog, snapshot, body)
            self._answers.move_to_end(key)
            while len(self._answers) > self._capacity:
                self._answers.popitem(last=False)
        return _json(body)


def _json(body: bytes) -> Response:
    return Response(content=body, media_type="application/json")
