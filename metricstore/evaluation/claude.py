"""The Claude tiers: the anthropic SDK's async client, one call per conversation and tier.

Retries live here and only here (the SDK's own are turned off): 429, 529, 5xx, timeouts and connection
errors are retried with the server's ``retry-after`` when it gives one, else exponential backoff. An answer
that is malformed, refused or truncated is asked again once; then its metrics are recorded as errors.
With a journal, every request is journalled before it leaves and every answer as soon as it arrives
(metricstore.evaluation.journal), so a killed process loses neither.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anthropic

from metricstore.definitions import MetricDefinition
from metricstore.evaluation.answers import AnswerInvalid, agreement_of, evaluation_from_answer
from metricstore.evaluation.base import Conversation, Evaluation, Status
from metricstore.evaluation.models import ModelPrice
from metricstore.evaluation.prompts import build_request
from metricstore.evaluation.redact import redact

if TYPE_CHECKING:
    from metricstore.evaluation.journal import CallJournal

RETRYABLE = (
    anthropic.RateLimitError,
    anthropic.InternalServerError,  # 500, 503 and 529 (overloaded) alike
    anthropic.APITimeoutError,
    anthropic.APIConnectionError,
)


@dataclass
class Budget:
    """A per-run ceiling on spending; once reached, no further call starts."""

    max_cost_usd: float | None = None
    spent_usd: float = 0.0
    refused_calls: int = 0

    def allows(self) -> bool:
        return self.max_cost_usd is None or self.spent_usd < self.max_cost_usd


@dataclass
class CallRecord:
    """One model call, for ops.llm_calls."""

    workspace_id: str
    conversation_id: str
    metric_keys: list[str]
    model: str
    input_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    attempts: int = 0
    outcome: str = "ok"  # ok | retried_answer | error | budget_exhausted | interrupted
    error: str | None = None
    batch_id: str | None = None
    call_id: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass
class ClaudeSettings:
    max_tokens: int = 1024
    max_attempts: int = 5  # for 5xx, timeouts and connection errors
    max_throttled_seconds: float = 300.0  # 429 and 529 are retried until this much time has passed
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 30.0
    redact: bool = True


class Pacer:
    """Shared by every call of a run: when the API says 429 or 529, everyone waits out the server's
    retry-after, not only the call that was told, so a burst does not meet the limit again at once."""

    def __init__(self) -> None:
        self.resume_at = 0.0

    def hold(self, seconds: float) -> None:
        self.resume_at = max(self.resume_at, time.monotonic() + seconds)

    async def wait(self) -> None:
        while (delay := self.resume_at - time.monotonic()) > 0:
            await asyncio.sleep(delay)


@dataclass
class ClaudeEvaluator:
    """Answers a conversation's pending metrics of one tier in one structured-output call. With a ``journal``
    (and the ``tier`` its lines name), requests and answers are made durable as they happen."""

    client: anthropic.AsyncAnthropic
    price: ModelPrice
    semaphore: asyncio.Semaphore
    budget: Budget = field(default_factory=Budget)
    settings: ClaudeSettings = field(default_factory=ClaudeSettings)
    pacer: Pacer = field(default_factory=Pacer)
    calls: list[CallRecord] = field(default_factory=list)
    journal: CallJournal | None = None
    tier: str = ""

    async def evaluate(
        self,
        conversation: Conversation,
        metrics: list[MetricDefinition],
        prior: Mapping[str, Mapping[int, Evaluation]] | None = None,
    ) -> list[Evaluation]:
        """A metric whose definition sets ``confidence_samples`` (k) is asked k times: its first answer in the
        call that asks the conversation's other metrics, the others in calls of their own. Its value is their
        agreement (:func:`agreement_of`). ``prior`` holds the answers of such metrics already bought (sample
        number → answer, from the cache), which are not asked again. A sample that fails fails its metric."""
        samples = {m.key: dict((prior or {}).get(m.key, {})) for m in metrics if m.confidence_samples}
        results: dict[str, Evaluation] = {}

        def wants(metric: MetricDefinition, n: int) -> bool:
            if metric.key in results:  # answered, or a sample of it failed
                return False
            if metric.key not in samples:
                return n == 1
            return n <= (metric.confidence_samples or 1) and n not in samples[metric.key]

        for n in range(1, max(m.confidence_samples or 1 for m in metrics) + 1):
            asked = [m for m in metrics if wants(m, n)]
            if not asked:
                continue
            for evaluation in await self._answer(conversation, asked, n):
                key = evaluation.metric_key
                if key in samples and evaluation.status not in ("error", "skipped"):
                    samples[key][n] = evaluation
                else:
                    results[key] = evaluation
        for key, answers in samples.items():
            if key not in results:
                results[key] = agreement_of([answers[n] for n in sorted(answers)])
        return [results[m.key] for m in metrics]

    async def _answer(
        self, conversation: Conversation, metrics: list[MetricDefinition], sample: int
    ) -> list[Evaluation]:
        """One answer per metric: a call, and a second for the metrics whose answers did not fit."""
        results: dict[str, Evaluation] = {}
        pending = list(metrics)
        for round_number in (1, 2):  # a second round asks again for the metrics whose answers did not fit
            if not pending:
                break
            answers, record = await self._call(conversation, pending, retry_of_answer=round_number == 2)
            evaluations = evaluations_from_answers(conversation, pending, answers, record, self.settings.redact)
            if self.journal is not None:  # no await since the answer arrived: nothing can be lost in between
                self.journal.done(record, self.tier, conversation, pending, evaluations, sample)
            for evaluation in evaluations:
                results[evaluation.metric_key] = evaluation
            if record.outcome in ("error", "budget_exhausted"):
                break
            pending = [m for m in pending if results[m.key].status == "error"]
        return [results[m.key] for m in metrics]

    async def _call(
        self, conversation: Conversation, metrics: list[MetricDefinition], *, retry_of_answer: bool
    ) -> tuple[dict[str, Any] | None, CallRecord]:
        record = CallRecord(
            conversation.workspace_id, conversation.conversation_id, [m.key for m in metrics], self.price.model
        )
        max_tokens = self.settings.max_tokens * (2 if retry_of_answer else 1) * max(1, len(metrics) // 4 + 1)
        params = build_request(
            conversation, metrics, model=self.price.model, max_tokens=max_tokens, redacted=self.settings.redact
        )
        answer: dict[str, Any] | None = None
        try:
            for attempt in (1, 2):  # the whole answer once more if it is refused, truncated or not JSON
                message = await self._send(params, record)
                if message is None:
                    break
                self.budget.spent_usd += bill(record, message.usage, self.price)
                answer, problem = read_answer(message)
                if answer is not None:
                    record.outcome = "retried_answer" if attempt == 2 or retry_of_answer else "ok"
                    break
                record.outcome, record.error = "error", problem
                params = {**params, "max_tokens": params["max_tokens"] * 2}
                if attempt == 1 and self.journal is not None:
                    self.journal.billed(record, self.tier)
        except BaseException as exc:  # cancelled or failed mid-call: recorded as such, never as an answer
            record.outcome, record.error = "interrupted", f"interrupted: {type(exc).__name__}: {exc}"
            raise
        finally:
            # once it is final (the fan-out stores calls while others are running); a call stopped before any
            # request left was never made
            if record.attempts or record.outcome != "interrupted":
                self.calls.append(record)
        return answer, record

    async def _send(self, params: dict[str, Any], record: CallRecord) -> Any:
        """One request, retried on 429/529 (until max_throttled_seconds), 5xx, timeouts and connection errors
        (max_attempts); None, with the record saying why, when it gives up. Latency counts the HTTP calls
        only, not the wait for a slot."""
        failures = 0
        give_up_at = time.monotonic() + self.settings.max_throttled_seconds
        while True:
            try:
                async with self.semaphore:
                    await self.pacer.wait()
                    # checked once a slot is free, so calls already queued see what the others spent
                    if not self.budget.allows():
                        self.budget.refused_calls += 1
                        record.outcome, record.error = "budget_exhausted", "the run's budget is spent"
                        return None
                    record.attempts += 1
                    if self.journal is not None:
                        self.journal.sent(record, self.tier)
                    sent = time.perf_counter()
                    try:
                        return await self.client.messages.create(**params)
                    finally:
                        record.latency_ms += (time.perf_counter() - sent) * 1000
            except RETRYABLE as exc:
                throttled = isinstance(exc, anthropic.RateLimitError | anthropic.OverloadedError)
                failures += 0 if throttled else 1
                out_of_time = time.monotonic() >= give_up_at
                if failures >= self.settings.max_attempts or (throttled and out_of_time):
                    record.outcome, record.error = "error", f"{type(exc).__name__}: {exc}"
                    return None
                delay = self._delay(exc, record.attempts)
                if throttled:
                    self.pacer.hold(delay)
                await asyncio.sleep(delay)
            except anthropic.APIStatusError as exc:  # 400, 401, 403, 404…: asking again will not help
                record.outcome, record.error = "error", f"{type(exc).__name__} {exc.status_code}: {exc.message}"
                return None

    def _delay(self, exc: Exception, attempt: int) -> float:
        """The server's retry-after when it gives one (plus up to 25 % jitter, so waiters do not return in
        lockstep), else exponential backoff with jitter."""
        response = getattr(exc, "response", None)
        headers = response.headers if response is not None else {}
        jitter = 1 + random.random() / 4
        if headers.get("retry-after-ms"):
            return float(headers["retry-after-ms"]) / 1000 * jitter
        if headers.get("retry-after", "").replace(".", "", 1).isdigit():
            return float(headers["retry-after"]) * jitter
        backoff = self.settings.backoff_seconds * 2 ** (min(attempt, 10) - 1)
        return min(self.settings.max_backoff_seconds, backoff * (0.5 + random.random() / 2))


def evaluations_from_answers(
    conversation: Conversation,
    metrics: list[MetricDefinition],
    answers: dict[str, Any] | None,
    record: CallRecord,
    redacted: bool,
) -> list[Evaluation]:
    """Each metric's evaluation from one call's answer object; a call that failed fails all its metrics."""
    if answers is None or record.outcome in ("error", "budget_exhausted"):
        return [error_evaluation(m, conversation, record.error or record.outcome, record) for m in metrics]
    transcript = conversation.transcript_text()
    seen = redact(transcript) if redacted else transcript  # what the model was shown
    evaluations = []
    for metric in metrics:
        try:
            evaluation = evaluation_from_answer(metric, conversation.conversation_id, answers.get(metric.key), seen)
        except AnswerInvalid as exc:
            evaluations.append(error_evaluation(metric, conversation, f"answer did not fit: {exc}", record))
            continue
        account(evaluation, record, len(metrics))
        evaluations.append(evaluation)
    return evaluations


def error_evaluation(
    metric: MetricDefinition, conversation: Conversation, message: str, record: CallRecord
) -> Evaluation:
    """A metric the call could not answer: an error (or skipped, when the budget stopped it), never a value."""
    status: Status = "skipped" if record.outcome == "budget_exhausted" else "error"
    return Evaluation(
        metric.key,
        metric.definition_version,
        conversation.conversation_id,
        status,
        model=record.model,
        error=message,
        attempts=record.attempts,
    )


def account(evaluation: Evaluation, record: CallRecord, share: int) -> None:
    """Give an evaluation its share of the call's tokens and cost (a call answers ``share`` metrics)."""
    evaluation.model = record.model
    evaluation.input_tokens = record.input_tokens // share
    evaluation.cache_creation_input_tokens = record.cache_creation_input_tokens // share
    evaluation.cache_read_input_tokens = record.cache_read_input_tokens // share
    evaluation.output_tokens = record.output_tokens // share
    evaluation.cost_usd = record.cost_usd / share
    evaluation.latency_ms = record.latency_ms
    evaluation.attempts = record.attempts


def bill(record: CallRecord, usage: Any, price: ModelPrice, *, batch: bool = False) -> float:
    """Add a response's usage to the record; returns its cost (at the batch discount for batch results)."""
    created = getattr(usage, "cache_creation_input_tokens", None) or 0
    read = getattr(usage, "cache_read_input_tokens", None) or 0
    record.input_tokens += usage.input_tokens
    record.output_tokens += usage.output_tokens
    record.cache_creation_input_tokens += created
    record.cache_read_input_tokens += read
    cost = price.cost(usage.input_tokens, usage.output_tokens, created, read, batch=batch)
    record.cost_usd += cost
    return cost


def read_answer(message: Any) -> tuple[dict[str, Any] | None, str | None]:
    """The JSON object of a message, or why there is none."""
    if message.stop_reason == "refusal":
        return None, "the model refused to answer"
    if message.stop_reason == "max_tokens":
        return None, "the answer was cut off at max_tokens"
    text = "".join(block.text for block in message.content if getattr(block, "type", None) == "text")
    try:
        answer = json.loads(text)
    except json.JSONDecodeError:
        return None, "the answer was not valid JSON"
    if not isinstance(answer, dict):
        return None, "the answer was not a JSON object"
    return answer, None
