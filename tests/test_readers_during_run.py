"""Readers in other processes — `duckdb` on the published file, `metricstore query`, the HTTP API — never wait
for the job and never see half a run (CONTRACT §5): every answer during a multi-hour backfill is the state
before it or the state after it, and none is an error."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
from dagster import DagsterInstance, materialize

from assets.ingestion import landed_events
from assets.metrics import metric_aggregates, metric_values
from assets.resources import MetricStoreResource
from assets.serving import published_warehouse
from metricstore.api.keys import KeyStore
from tests.conftest import REPO, event, write_landing

ASSETS = [landed_events, metric_values, metric_aggregates, published_warehouse]
WS = "ws_test"

# Each round reads the same thing three ways; a state is the latest aggregate of every metric.
READER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    import duckdb, httpx
    from click.testing import CliRunner
    from metricstore.cli import main
    api, key, published, stop = sys.argv[1], sys.argv[2], sys.argv[3], Path(sys.argv[4])

    def state(aggregates):
        return sorted([a["metric_key"], a["source"], a["period_start"][:16], a["value"], a["sample_count"]]
                      for a in aggregates)

    def direct():
        with duckdb.connect(published, read_only=True) as conn:
            rows = conn.execute(
                "SELECT metric_key, source, strftime(period_start, '%Y-%m-%dT%H:%M'), value, sample_count "
                "FROM metrics.metric_latest WHERE workspace_id = 'ws_test'").fetchall()
        return sorted([list(r) for r in rows])

    def cli():
        result = CliRunner().invoke(main, ["query", "latest", "--workspace", "ws_test", "--json"])
        if result.exit_code:
            raise RuntimeError(result.output)
        return state(json.loads(result.output)["aggregates"])

    def http():
        response = httpx.get(f"{api}/v1/ws_test/metrics/latest", headers={"Authorization": f"Bearer {key}"})
        response.raise_for_status()
        return state(response.json()["aggregates"])

    while not stop.exists():
        for name, read in (("duckdb", direct), ("query", cli), ("api", http)):
            try:
                print(json.dumps({"reader": name, "state": read()}), flush=True)
            except Exception as exc:  # every error is reported, none retried
                print(json.dumps({"reader": name, "error": repr(exc)}), flush=True)
        time.sleep(0.01)
    """
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _latest(api: str, key: str) -> list[list[object]]:
    aggregates = httpx.get(f"{api}/v1/{WS}/metrics/latest", headers={"Authorization": f"Bearer {key}"}).json()
    return sorted(
        [a["metric_key"], a["source"], a["period_start"][:16], a["value"], a["sample_count"]]
        for a in aggregates["aggregates"]
    )


def test_readers_see_the_state_before_or_after_a_backfill_and_no_lock_error(tmp_path: Path, landing: Path) -> None:
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
    settings = resource.settings()
    key = KeyStore(settings.api_keys).create(WS, "viewer").key
    env = {
        **os.environ,
        "METRICSTORE_WAREHOUSE": str(settings.warehouse),
        "METRICSTORE_PUBLISHED": str(settings.published),
        "METRICSTORE_METRIC_DEFS": str(settings.metric_defs),
        "METRICSTORE_API_KEYS": str(settings.api_keys),
    }
    port = _free_port()
    api = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-c", "from metricstore.cli import main; main()", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    stop = tmp_path / "stop"
    reader = None
    try:
        for _ in range(300):  # the server is up
            try:
                before = _latest(api, key)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        reader = subprocess.Popen(
            [sys.executable, "-c", READER, api, key, str(settings.published), str(stop)],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        time.sleep(3)  # the readers are reading before the run starts
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
        time.sleep(3)  # and after it ends
        after = _latest(api, key)
    finally:
        stop.touch()
        output = reader.communicate(timeout=60)[0] if reader else ""
        server.terminate()
        server.wait(timeout=30)
    assert after != before
    observations = [json.loads(line) for line in output.splitlines()]
    assert [o for o in observations if "error" in o] == []
    for name in ("duckdb", "query", "api"):
        states = [o["state"] for o in observations if o["reader"] == name]
        assert len(states) >= 3, name
        assert all(s in (before, after) for s in states), name
        assert states[0] == before and states[-1] == after, name
