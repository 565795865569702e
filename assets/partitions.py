"""The partitioning every metricstore asset shares: UTC hours from a configured first hour."""

import os
import warnings
from datetime import datetime
from pathlib import Path

from dagster import BackfillPolicy, BetaWarning, HourlyPartitionsDefinition

from metricstore.windows import PARTITION_FORMAT, PARTITIONS_START, partition_key_for

REPO_ROOT = Path(__file__).resolve().parent.parent
# Written by `metricstore demo` into the Dagster home: the first hour of its window.
PARTITIONS_START_FILE = "partitions_start"


def dagster_home() -> Path:
    """$DAGSTER_HOME, else ``.dagster`` in the repository."""
    return Path(os.environ.get("DAGSTER_HOME") or REPO_ROOT / ".dagster").resolve()


def partitions_start() -> str:
    """The first hourly partition: $METRICSTORE_PARTITIONS_START, else the hour `metricstore demo` wrote into the
    Dagster home, else 2025-01-01-00:00 (also the earliest allowed: older events are quarantined at ingestion)."""
    setting = os.environ.get("METRICSTORE_PARTITIONS_START")
    where = "METRICSTORE_PARTITIONS_START"
    if not setting:
        written = dagster_home() / PARTITIONS_START_FILE
        setting, where = (written.read_text().strip(), str(written)) if written.is_file() else ("", "")
    if not setting:
        return partition_key_for(PARTITIONS_START)
    try:
        start = datetime.strptime(setting, PARTITION_FORMAT)
    except ValueError:
        raise ValueError(f"{where}: '{setting}' is not an hourly partition key like 2026-11-20-10:00") from None
    if start < PARTITIONS_START or start.minute:
        raise ValueError(f"{where}: '{setting}' must be a whole hour from {partition_key_for(PARTITIONS_START)} on")
    return setting


# The partitions reach the open hour (end_offset=1): runs requested as landing files arrive write it before it
# ends. The hourly schedule still runs the hour that just ended (orchestration/definitions.py).
hourly_partitions = HourlyPartitionsDefinition(start_date=partitions_start(), timezone="UTC", end_offset=1)

BACKFILL_HOURS_VARIABLE = "METRICSTORE_BACKFILL_HOURS_PER_RUN"


def backfill_hours_per_run() -> int:
    """How many hours one run of a backfill takes: $METRICSTORE_BACKFILL_HOURS_PER_RUN, else 1.

    A backfill's runs queue behind each other (one run at a time) and arrival runs go before them (they carry a
    higher ``dagster/priority``), so fresh data waits for at most one of these runs. Larger runs go faster in
    total (less start-up per hour) and hold fresh data back longer; `make bench` (backfill) measures both."""
    setting = os.environ.get(BACKFILL_HOURS_VARIABLE, "").strip()
    if not setting:
        return 1
    if not setting.isdigit() or int(setting) < 1:
        raise ValueError(f"{BACKFILL_HOURS_VARIABLE}: '{setting}' is not a whole number of hours from 1 on")
    return int(setting)


# A backfill launched from the UI goes in runs of backfill_hours_per_run() hours (each step works on the run's
# time window, so a run of several hours is one pass over them).
range_backfill = BackfillPolicy.multi_run(max_partitions_per_run=backfill_hours_per_run())

# `backfill_policy` on @asset is marked beta in Dagster 1.13; we rely on it knowingly, so keep the log quiet.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=BetaWarning)
