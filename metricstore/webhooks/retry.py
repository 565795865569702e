"""When a failed delivery is tried again, and what an answer means (Standard Webhooks / Svix semantics).

Retries are not slept on: a failed attempt records when the delivery is due again, and the first run (or
``metricstore webhooks deliver``) after that time sends it. The schedule is Svix's: 5 s, 5 min, 30 min, 2 h, 5 h,
10 h, 10 h after each failure, each ±20 % so that many failed deliveries do not return all at once; after the
eighth failed attempt (about 28 hours) a delivery is dead and stays for ``metricstore webhooks replay``.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Literal

SCHEDULE = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
MAX_ATTEMPTS = len(SCHEDULE) + 1
JITTER = 0.2
# Answers after which Retry-After is honoured (the receiver says when it can take the delivery again).
RETRY_AFTER_STATUSES = frozenset({429, 502, 503, 504})
# A Retry-After further away than this is taken as this (a receiver cannot park a delivery for weeks).
MAX_RETRY_AFTER = timedelta(hours=24)
# An endpoint that has failed every attempt for this long is disabled (Svix: five days).
DISABLE_AFTER = timedelta(days=5)

Outcome = Literal["delivered", "failed", "refused", "gone"]


def outcome_of(status_code: int) -> Outcome:
    """2xx delivers; 410 Gone disables the endpoint; everything else (3xx included: redirects are not followed)
    is a failure to retry."""
    if 200 <= status_code < 300:
        return "delivered"
    if status_code == 410:
        return "gone"
    return "failed"


def next_attempt(
    attempts: int, at: datetime, *, retry_after: timedelta | None = None, rng: random.Random | None = None
) -> datetime | None:
    """When a delivery that has now failed ``attempts`` times is due again, or None when it is dead. A
    Retry-After pushes the time out, never in."""
    if attempts >= MAX_ATTEMPTS:
        return None
    delay = SCHEDULE[attempts - 1] * (rng or random).uniform(1 - JITTER, 1 + JITTER)
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
    return at + delay


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """A Retry-After header (seconds, or an HTTP date) as a delay from ``now`` (naive UTC); None when absent or
    unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    return max(when - now, timedelta(0))
