"""The code location loads, with the job, schedule, partitions and checks the contract names."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import AssetKey

from orchestration.definitions import defs
from tests.conftest import REPO


def test_definitions_load() -> None:
    job = defs.resolve_job_def("hourly_metrics")
    assert job.partitions_def is not None
    schedule = defs.resolve_schedule_def("hourly_metrics_schedule")
    assert schedule.cron_schedule == "5 * * * *"
    assert schedule.job_name == "hourly_metrics"
    sensor = defs.resolve_sensor_def("landing_files_sensor")
    assert sensor.job_name == "hourly_metrics" and sensor.minimum_interval_seconds == 10
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert keys == {
        "raw/events",
        "metrics/metric_values",
        "metrics/ai_metric_values",
        "metrics/metric_aggregates",
        "serving/published_warehouse",
        "delivery/post_call_webhooks",
    }
    checks = {(c.asset_key.to_user_string(), c.name) for c in graph.asset_check_keys}
    assert ("metrics/metric_values", "required_metrics_present") in checks
    assert graph.get(AssetKey(["metrics", "metric_aggregates"])).parent_keys == {
        AssetKey(["metrics", "metric_values"]),
        AssetKey(["metrics", "ai_metric_values"]),
    }
    assert ("metrics/ai_metric_values", "error_rate_below_threshold") in checks
    assert ("delivery/post_call_webhooks", "required_metrics_delivered") in checks
    assert graph.get(AssetKey(["delivery", "post_call_webhooks"])).parent_keys == {
        AssetKey(["serving", "published_warehouse"])
    }


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


def test_every_check_has_a_description() -> None:
    specs = [spec for a in defs.assets or [] for spec in getattr(a, "check_specs", [])]
    assert len(specs) == 10
    assert all(spec.description for spec in specs), [s.name for s in specs if not s.description]


def _first_partition(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    code = (
        "from orchestration.definitions import defs; "
        "print(defs.resolve_job_def('hourly_metrics').partitions_def.get_first_partition_key())"
    )
    base = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "METRICSTORE_PARTITIONS_START")}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=base | env, capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize(
    ("written", "variable", "first"),
    [
        (None, None, "2025-01-01-00:00"),  # nothing configured: today's default
        ("2026-11-18-05:00\n", None, "2026-11-18-05:00"),  # what `metricstore demo` writes
        ("2026-11-18-05:00\n", "2026-11-19-00:00", "2026-11-19-00:00"),  # the variable wins
    ],
)
def test_partitions_start_at_the_configured_hour(
    tmp_path: Path, written: str | None, variable: str | None, first: str
) -> None:
    if written:
        (tmp_path / "partitions_start").write_text(written)
    env = {"DAGSTER_HOME": str(tmp_path)} | ({"METRICSTORE_PARTITIONS_START": variable} if variable else {})
    done = _first_partition(env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == first


@pytest.mark.parametrize(
    ("variable", "message"),
    [
        ("2026-11-18", "'2026-11-18' is not an hourly partition key"),
        ("2024-12-31-23:00", "'2024-12-31-23:00' must be a whole hour from 2025-01-01-00:00 on"),
    ],
)
def test_a_bad_partitions_start_is_refused_by_name(tmp_path: Path, variable: str, message: str) -> None:
    done = _first_partition({"DAGSTER_HOME": str(tmp_path), "METRICSTORE_PARTITIONS_START": variable})
    assert done.returncode == 1
    assert f"METRICSTORE_PARTITIONS_START: {message}" in done.stderr


def test_every_job_runs_its_steps_in_one_process() -> None:
    """The one DuckDB writer: `hourly_metrics` and the asset job the UI launches (backfills, "Materialize") alike,
    never a process per step."""
    for job in (defs.resolve_job_def("hourly_metrics"), defs.resolve_implicit_global_asset_job_def()):
        assert job.executor_def.name == "in_process", job.name
