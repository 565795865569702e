"""Test and benchmark equipment. Nothing here is used unless asked for by name."""

from __future__ import annotations

from metricstore.testing.fake_claude import (
    FAULT_KINDS,
    FakeClaude,
    RecordedRequest,
    count_input_tokens,
    default_responder,
    fake_instance,
    tokens_for_chars,
)

__all__ = [
    "FAULT_KINDS",
    "FakeClaude",
    "RecordedRequest",
    "count_input_tokens",
    "default_responder",
    "fake_instance",
    "tokens_for_chars",
]
