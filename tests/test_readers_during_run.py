"""Readers in other processes never wait for the job and never see half a run (CONTRACT §5)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from dagster import DagsterInstance, materialize

from assets.ingestion import landed_events
from assets.metrics import metric_aggregates, metric_values
from assets.resources import MetricStoreResource
from assets.serving import published_warehouse
from tests.conftest import REPO, event, write_landing

ASSETS = [landed_events, metric_values, metric_aggregates, published_warehouse]

# One observation: the aggregates' and the values' totals, read in one connection (one snapshot).
READER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    import duckdb
    published, stop = sys.argv[1], Path(sys.argv[2])
    while not stop.exists():
        try:
            with duckdb.connect(published, read_only=True) as conn:
                aggregates = conn.execute(
                    "SELECT count(*), round(sum(value), 6) FROM metrics.metric_aggregates").fetchall()[0]
                values = conn.execute("SELECT count(*) FROM metrics.metric_values").fetchall()[0][0]
            print(json.dumps({"state": [aggregates[0], aggregates[1], values]}), flush=True)
        except Exception as exc:  # every error is reported, none retried
            print(json.dumps({"error": str(exc)}), flush=True)
        time.sleep(0.01)
    """
)


def _state(published: str) -> list[object]:
    import duckdb

    with duckdb.connect(published, read_only=True) as conn:
        aggregates = conn.execute("SELECT count(*), round(sum(value), 6) FROM metrics.metric_aggregates").fetchall()[0]
        values = conn.execute("SELECT count(*) FROM metrics.metric_values").fetchall()[0][0]
    return [aggregates[0], aggregates[1], values]


def test_a_reader_sees_the_state_before_or_after_a_backfill_and_no_lock_error(tmp_path: Path, landing: Path) -> None:
    events = [
        event(f"e{h}_{i}", f"2026-11-20T{h:02d}:{i * 7 % 60:02d}:00Z", id=f"c{h}_{i}", duration=10 * i + h)
        for h in range(6)
        for i in range(40)
    ]
    write_landing(landing, "call_intelligence/day.jsonl", events)
    resource = MetricStoreResource(
        warehouse=str(tmp_path / "wh.duckdb"),
        landing=str(landing),
        metric_defs=str(REPO / "metric_defs"),
        published=str(tmp_path / "published" / "wh.duckdb"),
    )
    assert materialize(ASSETS, partition_key="2026-11-20-00:00", resources={"metricstore": resource}).success
    before = _state(resource.published)
    stop = tmp_path / "stop"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, resource.published, str(stop)], stdout=subprocess.PIPE, text=True
    )
    try:
        time.sleep(0.5)  # the reader is reading before the run starts
        result = materialize(
            ASSETS,
            instance=DagsterInstance.ephemeral(),
            tags={
                "dagster/asset_partition_range_start": "2026-11-20-00:00",
                "dagster/asset_partition_range_end": "2026-11-20-05:00",
            },
            resources={"metricstore": resource},
        )
        assert result.success
        time.sleep(0.5)  # and after it ends
    finally:
        stop.touch()
        output, _ = reader.communicate(timeout=60)
    after = _state(resource.published)
    assert after != before
    observations = [json.loads(line) for line in output.splitlines()]
    errors = [o["error"] for o in observations if "error" in o]
    assert errors == []
    states = [o["state"] for o in observations]
    assert len(states) > 20
    assert all(s in (before, after) for s in states), {tuple(s) for s in states} - {tuple(before), tuple(after)}
    assert states[0] == before and states[-1] == after
