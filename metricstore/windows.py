"""Time windows: a run's window comes from its partition, never from the clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
PARTITION_FORMAT = "%Y-%m-%d-%H:%M"
# The first hourly partition (assets/partitions.py): an event before it belongs to no run and is quarantined.
PARTITIONS_START = datetime(2025, 1, 1)


@dataclass(frozen=True)
class TimeWindow:
    """A half-open UTC interval [start, end), naive datetimes in UTC."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("TimeWindow holds naive UTC datetimes")
        if self.end <= self.start:
            raise ValueError(f"empty window: {self.start} .. {self.end}")

    def hours(self) -> list[datetime]:
        """The start of every hour the window covers."""
        first = self.start.replace(minute=0, second=0, microsecond=0)
        return [first + i * HOUR for i in range(int((self.end - first) / HOUR + 0.999999))]

    def days(self) -> list[datetime]:
        """The start of every UTC day the window touches."""
        first = self.start.replace(hour=0, minute=0, second=0, microsecond=0)
        last = (self.end - timedelta(microseconds=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        return [first + i * DAY for i in range((last - first).days + 1)]

    def __str__(self) -> str:
        return f"[{self.start:%Y-%m-%d %H:%M}, {self.end:%Y-%m-%d %H:%M}) UTC"


def to_naive_utc(moment: datetime) -> datetime:
    """A datetime as naive UTC (aware ones are converted, naive ones are taken as UTC)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def window_for_partition(partition_key: str) -> TimeWindow:
    """The hour a partition key like ``2026-11-20-10:00`` stands for."""
    start = datetime.strptime(partition_key, PARTITION_FORMAT)
    return TimeWindow(start, start + HOUR)


def partition_key_for(hour: datetime) -> str:
    return to_naive_utc(hour).strftime(PARTITION_FORMAT)


def utc_now() -> datetime:
    """Wall-clock time, for bookkeeping columns (ingested_at, evaluated_at) only: never for windows."""
    return datetime.now(UTC).replace(tzinfo=None)


def floor_hour(moment: datetime) -> datetime:
    """The start of the hour ``moment`` is in (naive UTC)."""
    return to_naive_utc(moment).replace(minute=0, second=0, microsecond=0)
