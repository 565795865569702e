"""The partitioning every metricstore asset shares: UTC hours."""

import warnings

from dagster import BackfillPolicy, BetaWarning, HourlyPartitionsDefinition

hourly_partitions = HourlyPartitionsDefinition(start_date="2025-01-01-00:00", timezone="UTC")

# A backfill of many hours runs as one run over the whole range: every step works on a time window.
range_backfill = BackfillPolicy.single_run()

# `backfill_policy` on @asset is marked beta in Dagster 1.13; we rely on it knowingly, so keep the log quiet.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=BetaWarning)
