"""The run's window, read from the partition (or partition range), never from the clock."""

from collections.abc import Sequence

from dagster import AssetExecutionContext

from metricstore.windows import TimeWindow, to_naive_utc


def run_window(context: AssetExecutionContext) -> TimeWindow:
    window = context.partition_time_window
    return TimeWindow(to_naive_utc(window.start), to_naive_utc(window.end))


def markdown_table(header: tuple[str, ...], rows: Sequence[Sequence[object]]) -> str:
    """A small Markdown table for asset metadata previews."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
