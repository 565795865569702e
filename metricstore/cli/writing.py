"""What the commands that write the warehouse outside a run share: the writer lock, the catalog."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from metricstore.config import Settings

if TYPE_CHECKING:
    import duckdb

    from metricstore.catalog_loader import MetricCatalog


@contextmanager
def writing(what: str) -> Iterator[tuple[duckdb.DuckDBPyConnection, str]]:
    """The warehouse and a run id, under the writer lock runs take (one writer at a time); published again
    afterwards, so that the API and `metricstore query` see what was written."""
    from metricstore.published import publish
    from metricstore.run_lock import writer_lock
    from metricstore.warehouse import connect

    settings = Settings.from_env()

    def waiting(holder: object) -> None:
        click.echo(f"waiting for {holder or 'another run'}: one process writes the warehouse at a time", err=True)

    run_id = f"{what} {uuid.uuid4().hex[:8]}"
    with writer_lock(settings.warehouse, run_id, waiting), connect(settings.warehouse) as conn:
        yield conn, run_id
        publish(conn, settings.published)


def load_valid_catalog() -> MetricCatalog:
    """The catalog, or exit 1 when a built-in definition is invalid."""
    from metricstore.catalog_loader import DefinitionsInvalid, load_catalog

    folder = Settings.from_env().metric_defs
    try:
        return load_catalog(folder)
    except DefinitionsInvalid as exc:
        if not folder.is_dir():  # not an invalid definition: the folder is not where it is looked for
            click.echo(
                f"error: no metric definitions folder at {folder.resolve()} (METRICSTORE_METRIC_DEFS, default "
                "metric_defs under the current folder)",
                err=True,
            )
        else:
            invalid = f"{len(exc.errors)} invalid metric definition(s)"
            click.echo(f"error: {invalid}: run `metricstore defs validate`", err=True)
        sys.exit(1)
