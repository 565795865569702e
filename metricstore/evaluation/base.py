"""What every evaluator takes and gives back: conversations in, typed evaluations out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, NamedTuple

Status = Literal["ok", "not_applicable", "out_of_range", "low_confidence", "error", "skipped"]


class Turn(NamedTuple):
    """One line of a transcript (a NamedTuple: a conversation has dozens, built for every conversation a run
    reads, and a frozen dataclass costs three times as much to make)."""

    role: str  # "assistant" | "user"
    content: str


@dataclass(frozen=True)
class Conversation:
    """One conversation, by its latest snapshot."""

    workspace_id: str
    conversation_id: str
    occurred_at: datetime
    transcript: tuple[Turn, ...]
    call: dict[str, Any]  # the snapshot's `data`
    session_id: str | None = None
    service_id: str | None = None
    channel: str | None = None
    direction: str | None = None
    is_simulation: bool = False

    @property
    def summary(self) -> str:
        value = self.call.get("summary")
        return value if isinstance(value, str) else ""

    def transcript_text(self, roles: tuple[str, ...] = ("assistant", "user")) -> str:
        """The conversation as `role: text` lines."""
        return "\n".join(f"{t.role}: {t.content}" for t in self.transcript if t.role in roles)


@dataclass
class Evaluation:
    """One metric's answer for one conversation, typed, with its cost. Errors carry no value."""

    metric_key: str
    definition_version: str
    conversation_id: str
    status: Status
    value_num: float | None = None
    value_text: str | None = None
    value_bool: bool | None = None
    value_list: list[str] | None = None
    rationale: str | None = None
    evidence: list[str] = field(default_factory=list)
    ungrounded_evidence: list[str] = field(default_factory=list)
    model: str | None = None
    input_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    attempts: int = 0
    error: str | None = None
    cached: bool = False
    # How sure the evaluator is of the value, in [0, 1] (None: it does not say). The free tier derives it from
    # its score margin; Claude tiers only from repeated answers, where a definition asks for it.
    confidence: float | None = None
