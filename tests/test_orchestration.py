"""The code location loads, with the job, schedule, partitions and checks the contract names."""

from __future__ import annotations

import subprocess
import sys

from dagster import AssetKey

from orchestration.definitions import defs
from tests.conftest import REPO


def test_definitions_load() -> None:
    job = defs.resolve_job_def("hourly_metrics")
    assert job.partitions_def is not None
    assert job.partitions_def.get_partition_keys()[0] == "2025-01-01-00:00"
    schedule = defs.resolve_schedule_def("hourly_metrics_schedule")
    assert schedule.cron_schedule == "5 * * * *"
    assert schedule.job_name == "hourly_metrics"
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert keys == {
        "raw/events",
        "metrics/metric_values",
        "metrics/ai_metric_values",
        "metrics/metric_aggregates",
        "serving/published_warehouse",
    }
    checks = {(c.asset_key.to_user_string(), c.name) for c in graph.asset_check_keys}
    assert ("metrics/metric_values", "required_metrics_present") in checks
    assert graph.get(AssetKey(["metrics", "metric_aggregates"])).parent_keys == {
        AssetKey(["metrics", "metric_values"]),
        AssetKey(["metrics", "ai_metric_values"]),
    }
    assert ("metrics/ai_metric_values", "error_rate_below_threshold") in checks


def test_code_location_imports_without_warnings() -> None:
    """What `dagster dev -w workspace.yaml` loads, with every warning turned into an error."""
    completed = subprocess.run(
        [sys.executable, "-W", "error", "-c", "import orchestration.definitions"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
