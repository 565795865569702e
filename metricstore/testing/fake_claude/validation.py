"""Validation of a Messages request body, with the 400 error message the API would give."""

from __future__ import annotations

from typing import Any, Final

from metricstore.testing.fake_claude.prompt import _pieces

_MAX_BREAKPOINTS: Final = 4


def _validate(body: Any, *, need_max_tokens: bool = True) -> str | None:
    if not isinstance(body, dict):
        return "body: Input should be a valid JSON object"
    model = body.get("model")
    if not isinstance(model, str) or not model:
        return "model: Field required"
    if need_max_tokens:
        max_tokens = body.get("max_tokens")
        if "max_tokens" not in body:
            return "max_tokens: Field required"
        if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
            return "max_tokens: Input should be a positive integer"
    if "messages" not in body:
        return "messages: Field required"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages: at least one message is required"
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            return f"messages.{i}.role: Input should be 'user' or 'assistant'"
        if not isinstance(message.get("content"), str | list):
            return f"messages.{i}.content: Field required"
    breakpoints = sum(1 for p in _pieces(body) if p.cache_control is not None)
    if breakpoints > _MAX_BREAKPOINTS:
        return f"A maximum of {_MAX_BREAKPOINTS} blocks with cache_control may be provided. Found {breakpoints}."
    return None
