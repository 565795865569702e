"""When a failed delivery is due again (metricstore.webhooks.retry): the schedule, its jitter, Retry-After."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest

from metricstore.webhooks.retry import (
    JITTER,
    MAX_ATTEMPTS,
    MAX_RETRY_AFTER,
    SCHEDULE,
    next_attempt,
    outcome_of,
    parse_retry_after,
)

AT = datetime(2026, 11, 20, 10, 0, 0)


@pytest.mark.parametrize("attempts", range(1, MAX_ATTEMPTS))
def test_each_retry_waits_its_step_of_the_schedule_within_the_jitter(attempts: int) -> None:
    rng = random.Random(attempts)
    for _ in range(50):
        due = next_attempt(attempts, AT, rng=rng)
        assert due is not None
        step = SCHEDULE[attempts - 1]
        assert step * (1 - JITTER) <= due - AT <= step * (1 + JITTER)


def test_the_schedule_grows_and_ends_dead_after_the_last_attempt() -> None:
    assert list(SCHEDULE) == sorted(SCHEDULE)
    assert sum(SCHEDULE, timedelta()) > timedelta(hours=24)  # retried for more than a day
    assert next_attempt(MAX_ATTEMPTS, AT) is None
    assert MAX_ATTEMPTS == 8


def test_jitter_spreads_deliveries_that_failed_together() -> None:
    rng = random.Random(7)
    times = {next_attempt(3, AT, rng=rng) for _ in range(20)}
    assert len(times) == 20


def test_retry_after_pushes_the_next_attempt_out_never_in() -> None:
    rng = random.Random(1)
    due = next_attempt(1, AT, retry_after=timedelta(seconds=120), rng=rng)
    assert due == AT + timedelta(seconds=120)  # later than the 5 s step
    due = next_attempt(4, AT, retry_after=timedelta(seconds=1), rng=rng)  # the 2 h step is later
    assert due is not None and due - AT >= SCHEDULE[3] * (1 - JITTER)
    due = next_attempt(1, AT, retry_after=timedelta(days=30), rng=rng)
    assert due == AT + MAX_RETRY_AFTER


def test_retry_after_as_seconds_or_an_http_date() -> None:
    assert parse_retry_after("120", AT) == timedelta(seconds=120)
    assert parse_retry_after("Fri, 20 Nov 2026 10:05:00 GMT", AT) == timedelta(minutes=5)
    assert parse_retry_after("Fri, 20 Nov 2026 09:00:00 GMT", AT) == timedelta(0)  # in the past: now
    assert parse_retry_after("soon", AT) is None
    assert parse_retry_after(None, AT) is None


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(200, "delivered"), (204, "delivered"), (299, "delivered"), (301, "failed"), (302, "failed"), (400, "failed"),
     (404, "failed"), (410, "gone"), (429, "failed"), (500, "failed"), (503, "failed")],
)  # fmt: skip
def test_only_2xx_delivers_and_410_is_gone(status: int, outcome: str) -> None:
    assert outcome_of(status) == outcome
