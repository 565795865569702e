"""The resource that tells the assets where the warehouse, the landing folder and the definitions are."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import duckdb
from dagster import ConfigurableResource, InitResourceContext
from dagster_duckdb import DuckDBResource

from metricstore.catalog_loader import MetricCatalog, load_catalog
from metricstore.config import Settings, published_beside
from metricstore.run_lock import LockHolder, writer_lock
from metricstore.warehouse import prepare

# Every run of the job carries the pid and host of the process that runs it, so that a run left STARTED by a
# killed process can be told from a live one (orchestration/runner.py: fail_dead_runs).
PID_TAG = "metricstore/pid"
HOST_TAG = "metricstore/host"
# A run the landing files sensor requested (orchestration/sensors.py): static metrics, aggregates and publishing
# as for any run; AI metrics and webhooks only for the workspaces whose ai_cadence is on_arrival.
ARRIVAL_TAG = "metricstore/arrival"
# The landing files that made the sensor request the run (the first few, and how many more).
FILES_TAG = "metricstore/files"


def is_arrival_run(tags: Mapping[str, str]) -> bool:
    return tags.get(ARRIVAL_TAG) == "true"


def process_tags() -> dict[str, str]:
    """The pid and host tags of a run executed by this process."""
    return {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}


class MetricStoreResource(ConfigurableResource):
    """Paths; each left empty falls back to CONTRACT §2's environment variable, read when a run starts."""

    warehouse: str = ""
    landing: str = ""
    metric_defs: str = ""
    published: str = ""

    def settings(self) -> Settings:
        env = Settings.from_env()
        warehouse = Path(self.warehouse) if self.warehouse else env.warehouse
        if self.published:
            published = Path(self.published)
        else:  # a warehouse given here and no METRICSTORE_PUBLISHED: publish beside that warehouse
            published = env.published if "METRICSTORE_PUBLISHED" in os.environ else published_beside(warehouse)
        return Settings(
            warehouse=warehouse,
            landing=Path(self.landing) if self.landing else env.landing,
            metric_defs=Path(self.metric_defs) if self.metric_defs else env.metric_defs,
            published=published,
            api_keys=env.api_keys,
        )

    @contextmanager
    def yield_for_execution(self, context: InitResourceContext) -> Iterator[MetricStoreResource]:
        """Hold the warehouse's writer lock for the whole run, as `metricstore run` does (a no-op inside it): a
        run launched by the schedule or the UI waits for the one that writes. Tag the run with this process's
        pid and host first, so that a waiting run is told from a dead one."""
        run_id = context.run.run_id if context.run is not None else "-"
        if context.instance is not None and context.run is not None:
            context.instance.add_run_tags(run_id, process_tags())

        def waiting(holder: LockHolder | None) -> None:
            if context.log is not None:
                context.log.warning(f"waiting for {holder or 'another run'} to finish: one run writes the warehouse")

        with writer_lock(self.settings().warehouse, run_id, waiting):
            yield self

    def catalog(self) -> MetricCatalog:
        return load_catalog(self.settings().metric_defs)

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A write connection to the warehouse (dagster-duckdb retries while another process holds the lock)."""
        path = self.settings().warehouse
        path.parent.mkdir(parents=True, exist_ok=True)
        with DuckDBResource(database=str(path)).get_connection() as conn:
            prepare(conn)
            yield conn
