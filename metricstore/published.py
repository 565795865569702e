"""The published warehouse: what readers (the API, ``metricstore query``, analysts) open instead of the
warehouse the job writes, so that they never wait for the job's lock and never see half a run."""

from __future__ import annotations

import duckdb

from metricstore.config import Settings


class NotPublishedError(Exception):
    """No run has published the warehouse yet."""


def open_published(settings: Settings) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published warehouse (the relations of CONTRACT §5 and ``raw.conversations``);
    :class:`NotPublishedError` when no run has published one yet."""
    path = settings.published
    if not path.is_file():
        raise NotPublishedError(f"nothing published at {path} yet: run the job first (`make run` or `metricstore run`)")
    conn = duckdb.connect(str(path), read_only=True)
    conn.execute("SET TimeZone = 'UTC'")
    return conn
