"""A backfill launched from the UI (an asset backfill, planned by the Dagster daemon) queues runs of
``METRICSTORE_BACKFILL_HOURS_PER_RUN`` hours (1 by default) behind each other, so an arrival run, which carries a
higher priority, waits for one of them at most."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from dagster import DagsterInstance, DagsterRunStatus
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG
from dagster._core.test_utils import create_test_daemon_workspace_context
from dagster._core.workspace.load_target import ModuleTarget
from dagster._daemon.backfill import execute_backfill_iteration

from assets.partitions import backfill_hours_per_run
from orchestration.backfills import request_backfill
from orchestration.definitions import defs
from orchestration.runner import ensure_dagster_home
from tests.conftest import REPO

HOURS = ["2026-11-20-09:00", "2026-11-20-10:00", "2026-11-20-11:00"]


def _queued_runs_of_a_ui_backfill(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, int]]:
    """Request a backfill of HOURS over every asset as the UI does, let the daemon's backfill step plan it once,
    and return the queued runs' (first hour, last hour, asset count) in the order they were queued."""
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setenv("METRICSTORE_PARTITIONS_START", "2026-11-20-00:00")
    ensure_dagster_home()
    with DagsterInstance.get() as instance:
        request_backfill(instance, HOURS[0], HOURS[-1])
        # the code server the daemon starts is a process of its own: it reads the environment set above
        target = ModuleTarget("orchestration.definitions", None, str(REPO), "orchestration.definitions")
        with create_test_daemon_workspace_context(target, instance) as context:
            list(execute_backfill_iteration(context, logging.getLogger("test_ui_backfill")))
        runs = list(reversed(instance.get_runs()))  # oldest first
    assert runs and all(r.status == DagsterRunStatus.QUEUED for r in runs)
    planned = []
    for run in runs:
        first = run.tags.get(ASSET_PARTITION_RANGE_START_TAG, run.tags.get("dagster/partition"))
        last = run.tags.get(ASSET_PARTITION_RANGE_END_TAG, run.tags.get("dagster/partition"))
        planned.append((first, last, len(run.asset_selection or ())))
    return planned


def test_a_ui_backfill_queues_one_run_per_hour_of_every_asset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("METRICSTORE_BACKFILL_HOURS_PER_RUN", raising=False)
    assets = len(defs.resolve_asset_graph().materializable_asset_keys)
    assert _queued_runs_of_a_ui_backfill(tmp_path, monkeypatch) == [(hour, hour, assets) for hour in HOURS]


def test_hours_per_backfill_run_is_a_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METRICSTORE_BACKFILL_HOURS_PER_RUN", "2")
    assets = len(defs.resolve_asset_graph().materializable_asset_keys)
    assert _queued_runs_of_a_ui_backfill(tmp_path, monkeypatch) == [
        (HOURS[0], HOURS[1], assets),
        (HOURS[2], HOURS[2], assets),
    ]


@pytest.mark.parametrize("setting", ["0", "-1", "two", "1.5"])
def test_a_bad_hours_per_run_setting_is_refused_by_name(monkeypatch: pytest.MonkeyPatch, setting: str) -> None:
    monkeypatch.setenv("METRICSTORE_BACKFILL_HOURS_PER_RUN", setting)
    with pytest.raises(ValueError, match=f"METRICSTORE_BACKFILL_HOURS_PER_RUN: '{setting}'"):
        backfill_hours_per_run()
