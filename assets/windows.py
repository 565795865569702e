"""The run's window, read from the partition (or partition range), never from the clock."""

from collections.abc import Mapping, Sequence
from datetime import datetime

from dagster import AssetExecutionContext

from metricstore.windows import HOUR, TimeWindow, partition_key_for, to_naive_utc


def run_window(context: AssetExecutionContext) -> TimeWindow:
    window = context.partition_time_window
    return TimeWindow(to_naive_utc(window.start), to_naive_utc(window.end))


def markdown_table(header: tuple[str, ...], rows: Sequence[Sequence[object]]) -> str:
    """A small Markdown table for asset metadata previews."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def per_hour_metadata(context: AssetExecutionContext, key: str, by_hour: Mapping[datetime, int]) -> None:
    """In a range run, give each partition its own hour's ``key`` and ``window``, so that the UI's metadata plots
    show hours, not the run's total on every partition; ``run_window`` says that the other keys are the run's
    totals (also in the step's output, which the run summary reads)."""
    if len(context.partition_keys) < 2:
        return
    run = str(run_window(context))
    for hour, value in by_hour.items():
        metadata = {key: value, "window": str(TimeWindow(hour, hour + HOUR)), "run_window": run}
        context.add_asset_metadata(metadata, partition_key=partition_key_for(hour))
