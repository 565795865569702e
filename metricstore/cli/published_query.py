"""Running one read of a `metricstore query` command on the published store: the catalog loaded, the
connection opened, and every failure turned into one line on stderr."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import click

from metricstore.catalog_loader import DefinitionsInvalid, load_catalog
from metricstore.config import Settings

if TYPE_CHECKING:
    import duckdb

    from metricstore.catalog_loader import MetricCatalog

_T = TypeVar("_T")


def published_query(run: Callable[[duckdb.DuckDBPyConnection, MetricCatalog], _T]) -> _T:
    """Run a query on the published warehouse; every failure is one line on stderr (exit 2: the request)."""
    import duckdb

    from metricstore.published import NotPublishedError, open_published
    from metricstore.query import QueryError

    settings = Settings.from_env()
    try:
        catalog = load_catalog(settings.metric_defs)
    except DefinitionsInvalid as exc:
        click.echo(f"error: {len(exc.errors)} invalid metric definition(s): run `metricstore defs validate`", err=True)
        sys.exit(1)
    try:
        with open_published(settings) as conn:
            return run(conn, catalog)
    except (NotPublishedError, QueryError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except duckdb.Error as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        click.echo(f"error: could not read the published warehouse {settings.published}: {first_line}", err=True)
        sys.exit(1)
