"""The API's answer cache: an answer is computed once per published snapshot and catalog, even when many requests
miss it at once, and a new snapshot or catalog is never answered from an older one."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import BaseModel

from metricstore.api.cache import AnswerCache
from metricstore.catalog_loader import MetricCatalog


class Answer(BaseModel):
    n: int


class FakePublished:
    """A published store whose snapshot the test replaces; counts the connections taken."""

    def __init__(self) -> None:
        self.snapshot: tuple[int, int] = (1, 1)
        self.connections = 0

    def on_disk(self) -> tuple[int, int]:
        return self.snapshot

    @contextmanager
    def connect(self) -> Iterator[Any]:
        self.connections += 1
        yield object()


def test_an_answer_is_computed_once_per_snapshot_and_catalog() -> None:
    cache, published, catalog = AnswerCache(), FakePublished(), MetricCatalog()
    calls: list[int] = []
    lock = threading.Lock()

    def compute(_: Any) -> Answer:
        time.sleep(0.05)  # long enough for every request below to miss at once
        with lock:
            calls.append(1)
            return Answer(n=len(calls))

    async def ask(which: MetricCatalog = catalog) -> bytes:
        response = await cache.answer("k", published=published, catalog=which, compute=compute)  # type: ignore[arg-type]
        return bytes(response.body)

    async def scenario() -> None:
        first = await asyncio.gather(*(ask() for _ in range(20)))
        assert set(first) == {b'{"n":1}'} and len(calls) == 1 and published.connections == 1
        assert await ask() == b'{"n":1}' and published.connections == 1  # a hit takes no connection
        published.snapshot = (1, 2)  # the job published again
        assert await ask() == b'{"n":2}'
        assert await ask(MetricCatalog()) == b'{"n":3}'  # the definitions changed

    asyncio.run(scenario())
