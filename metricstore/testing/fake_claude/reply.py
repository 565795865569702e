"""`_Reply`: what an endpoint of `FakeClaude` answers (status, headers, body), written out by the HTTP handler."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class _Reply:
    status: int
    headers: dict[str, str]
    body: bytes
