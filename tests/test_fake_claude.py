"""FakeClaude driven by the real anthropic SDK: answers, usage, caching, faults, rate limits and batches."""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Mapping
from typing import Any, Literal

import anthropic
import pytest
from pydantic import BaseModel, Field

from metricstore.testing import FakeClaude, count_input_tokens, fake_instance

MODEL = "claude-haiku-4-5"

TRANSCRIPT_A = (
    "Score this call. Return the verdict as JSON.\n"
    "<transcript>\n"
    "user: Hi, I was charged twice on my last invoice and I would like a refund please\n"
    "assistant: I am sorry about that, I have issued the refund to your card just now\n"
    "user: Great, thank you so much for sorting that out so quickly today\n"
    "</transcript>"
)
TRANSCRIPT_B = (
    "Score this call. Return the verdict as JSON.\n"
    "<transcript>\n"
    "user: My internet keeps dropping every evening around eight and nobody can explain why\n"
    "assistant: Let me run a line test and book an engineer visit for Thursday morning\n"
    "</transcript>"
)

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "label": {"type": "string", "enum": ["resolved", "unresolved", "escalated", "unclear"]},
        "score": {"type": "number", "minimum": 1, "maximum": 5},
        "turns": {"type": "integer", "minimum": 0, "maximum": 50},
        "polite": {"type": "boolean"},
        "rationale": {"type": "string"},
        "evidence": {"type": "array", "items": {"type": "string"}},
        "key_quote": {"type": "string"},
        "note": {"anyOf": [{"type": "null"}, {"type": "string"}]},
        "topic": {"type": ["string", "null"], "enum": ["billing", "network", None]},
        "details": {"$ref": "#/$defs/Details"},
    },
    "required": ["label", "score", "turns", "polite", "rationale", "evidence", "key_quote", "note", "details"],
    "additionalProperties": False,
    "$defs": {
        "Details": {
            "type": "object",
            "properties": {
                "channel": {"type": "string", "enum": ["voice", "chat"]},
                "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 3},
            },
            "required": ["channel", "confidence", "tags"],
            "additionalProperties": False,
        }
    },
}


def _schema_errors(instance: Any, schema: Mapping[str, Any], root: Mapping[str, Any], path: str = "$") -> list[str]:
    """A small JSON-schema checker for the keywords used here (jsonschema is not installed)."""
    if "$ref" in schema:
        target: Any = root
        for part in schema["$ref"].lstrip("#/").split("/"):
            target = target[part]
        return _schema_errors(instance, target, root, path)
    if "enum" in schema and instance not in schema["enum"]:
        return [f"{path}: {instance!r} not in enum"]
    if "anyOf" in schema:
        if all(_schema_errors(instance, alt, root, path) for alt in schema["anyOf"]):
            return [f"{path}: matches no anyOf alternative"]
        return []
    kinds = schema.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds] if kinds else []
    checks = {
        "object": lambda v: isinstance(v, dict),
        "array": lambda v: isinstance(v, list),
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "null": lambda v: v is None,
    }
    if kinds and not any(checks[k](instance) for k in kinds):
        return [f"{path}: {instance!r} is not of type {kinds}"]
    errors: list[str] = []
    if isinstance(instance, dict):
        properties = schema.get("properties", {})
        errors += [f"{path}: missing {key}" for key in schema.get("required", []) if key not in instance]
        if schema.get("additionalProperties") is False:
            errors += [f"{path}: extra {key}" for key in instance if key not in properties]
        for key, value in instance.items():
            if key in properties:
                errors += _schema_errors(value, properties[key], root, f"{path}.{key}")
    if isinstance(instance, list):
        if len(instance) < schema.get("minItems", 0) or len(instance) > schema.get("maxItems", math.inf):
            errors.append(f"{path}: {len(instance)} items")
        for i, item in enumerate(instance):
            errors += _schema_errors(item, schema.get("items", {}), root, f"{path}[{i}]")
    if isinstance(instance, int | float) and not isinstance(instance, bool):
        if instance < schema.get("minimum", -math.inf) or instance > schema.get("maximum", math.inf):
            errors.append(f"{path}: {instance} out of bounds")
        if "number" in kinds and round(instance, 2) != instance:
            errors.append(f"{path}: {instance} has more than 2 decimals")
    return errors


def _create(client: anthropic.Anthropic, text: str, *, schema: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    extra: dict[str, Any] = {"output_config": {"format": {"type": "json_schema", "schema": schema}}} if schema else {}
    return client.messages.create(
        model=MODEL, max_tokens=1024, messages=[{"role": "user", "content": text}], **extra, **kwargs
    )


def _client(fake: FakeClaude, **kwargs: Any) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=fake.base_url, api_key="test-key", **kwargs)


def _async_client(fake: FakeClaude, **kwargs: Any) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=fake.base_url, api_key="test-key", **kwargs)


# ---------------------------------------------------------------------------------------------------------------
# Answers
# ---------------------------------------------------------------------------------------------------------------


def test_structured_output_is_a_valid_deterministic_grounded_instance() -> None:
    with FakeClaude() as fake, _client(fake) as client:
        first = _create(client, TRANSCRIPT_A, schema=SCHEMA)
        again = _create(client, TRANSCRIPT_A, schema=SCHEMA)
        other = _create(client, TRANSCRIPT_B, schema=SCHEMA)

    assert first.type == "message" and first.role == "assistant" and first.model == MODEL
    assert first.stop_reason == "end_turn" and first.stop_sequence is None
    answer = json.loads(first.content[0].text)
    assert _schema_errors(answer, SCHEMA, SCHEMA) == []
    assert answer["note"] is not None  # anyOf with null: the first non-null alternative
    assert answer["topic"] in ("billing", "network", None)
    assert again.content[0].text == first.content[0].text
    assert other.content[0].text != first.content[0].text
    assert _schema_errors(json.loads(other.content[0].text), SCHEMA, SCHEMA) == []

    # evidence and quote strings are verbatim 5-12 word spans of transcript lines, without the role prefix
    transcript_lines = [line.split(": ", 1)[1] for line in TRANSCRIPT_A.splitlines() if line.startswith("user: ")]
    transcript_lines += [line.split(": ", 1)[1] for line in TRANSCRIPT_A.splitlines() if line.startswith("assistant")]
    for quote in [*answer["evidence"], answer["key_quote"]]:
        assert any(quote in line for line in transcript_lines), quote
        assert 5 <= len(quote.split()) <= 12


def test_sdk_parse_with_a_pydantic_model_validates() -> None:
    """`messages.parse` moves bounds into descriptions; the fake still honours them so pydantic validation passes."""

    class Verdict(BaseModel):
        label: Literal["good", "bad"]
        score: int = Field(ge=1, le=5)
        confidence: float = Field(ge=0, le=1)
        evidence: list[str]
        comment: str | None = None

    with FakeClaude() as fake, _client(fake) as client:
        for transcript in (TRANSCRIPT_A, TRANSCRIPT_B):
            parsed = client.messages.parse(
                model=MODEL, max_tokens=1024, messages=[{"role": "user", "content": transcript}], output_format=Verdict
            )
            verdict = parsed.parsed_output
            assert isinstance(verdict, Verdict)
            assert 1 <= verdict.score <= 5 and 0 <= verdict.confidence <= 1
            assert verdict.evidence and all(quote in transcript for quote in verdict.evidence)


def test_plain_text_answer_custom_responder_and_forced_tool() -> None:
    with FakeClaude() as fake, _client(fake) as client:
        text = _create(client, "Say hello").content[0].text
        assert (
            text.startswith("This is a deterministic answer") and text == _create(client, "Say hello").content[0].text
        )

        tool = {
            "name": "record_score",
            "input_schema": {"type": "object", "properties": {"score": {"type": "integer"}}},
        }
        forced = client.messages.create(
            model=MODEL,
            max_tokens=256,
            messages=[{"role": "user", "content": "Score it"}],
            tools=[tool],  # type: ignore[list-item]
            tool_choice={"type": "tool", "name": "record_score"},
        )
        assert forced.stop_reason == "tool_use"
        block = forced.content[0]
        assert block.type == "tool_use" and block.name == "record_score" and isinstance(block.input["score"], int)

    seen: list[dict[str, Any]] = []

    def responder(body: dict[str, Any]) -> dict[str, Any]:
        seen.append(body)
        return {"verdict": "custom", "n": len(body["messages"])}

    with FakeClaude(responder=responder) as fake, _client(fake) as client:
        message = _create(client, "anything", schema=SCHEMA)
    assert json.loads(message.content[0].text) == {"verdict": "custom", "n": 1}
    assert seen[0]["output_config"]["format"]["schema"] == SCHEMA


def test_fake_instance_is_usable_directly() -> None:
    value = fake_instance(SCHEMA, seed="x", user_texts=[TRANSCRIPT_A])
    assert _schema_errors(value, SCHEMA, SCHEMA) == []
    assert value == fake_instance(SCHEMA, seed="x", user_texts=[TRANSCRIPT_A])


# ---------------------------------------------------------------------------------------------------------------
# Usage and caching
# ---------------------------------------------------------------------------------------------------------------


def test_usage_and_count_tokens_follow_the_token_rule() -> None:
    system, user = "s" * 40, "u" * 41  # 81 characters -> ceil(81 / 4) = 21 tokens
    with FakeClaude() as fake, _client(fake) as client:
        message = client.messages.create(
            model=MODEL, max_tokens=1024, system=system, messages=[{"role": "user", "content": user}]
        )
        counted = client.messages.count_tokens(model=MODEL, system=system, messages=[{"role": "user", "content": user}])
        tool = {"name": "t", "description": "d", "input_schema": {"type": "object"}}
        with_tool = client.messages.count_tokens(
            model=MODEL,
            messages=[{"role": "user", "content": user}],
            tools=[tool],  # type: ignore[list-item]
        )
        short = client.messages.create(model=MODEL, max_tokens=3, messages=[{"role": "user", "content": user}])
    usage = message.usage
    assert usage.input_tokens == 21
    assert usage.cache_creation_input_tokens == 0 and usage.cache_read_input_tokens == 0
    assert usage.output_tokens == math.ceil(len(message.content[0].text) / 4)
    assert usage.service_tier == "standard"
    assert counted.input_tokens == 21
    tool_chars = len(json.dumps(tool, sort_keys=True, separators=(",", ":")))
    assert with_tool.input_tokens == math.ceil((tool_chars + 41) / 4)
    # an answer longer than max_tokens * 4 characters is cut there
    assert short.stop_reason == "max_tokens" and len(short.content[0].text) == 12 and short.usage.output_tokens == 3


def test_response_headers() -> None:
    with FakeClaude(requests_per_second=100) as fake, _client(fake) as client:
        raw = client.messages.with_raw_response.create(
            model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "hi"}]
        )
    for name in ("request-id", "anthropic-ratelimit-requests-limit", "anthropic-ratelimit-requests-remaining"):
        assert raw.headers.get(name), name
    for name in ("anthropic-ratelimit-requests-reset", "anthropic-ratelimit-tokens-limit"):
        assert raw.headers.get(name), name
    assert raw.headers["anthropic-ratelimit-tokens-remaining"] and raw.headers["anthropic-ratelimit-tokens-reset"]
    assert raw.parse().id.startswith("msg_")


def _cached_system(chars: int) -> list[dict[str, Any]]:
    return [{"type": "text", "text": "S" * chars, "cache_control": {"type": "ephemeral"}}]


def test_prompt_cache_creation_then_read() -> None:
    with FakeClaude() as fake, _client(fake) as client:

        def ask(system: Any, content: Any, model: str = MODEL) -> anthropic.types.Usage:
            return client.messages.create(
                model=model, max_tokens=64, system=system, messages=[{"role": "user", "content": content}]
            ).usage

        # 4400 characters = 1100 tokens >= min_cache_tokens (1024): created once, then read
        first = ask(_cached_system(4400), "hello there")  # total ceil(4411 / 4) = 1103
        assert (first.cache_creation_input_tokens, first.cache_read_input_tokens, first.input_tokens) == (1100, 0, 3)
        assert first.cache_creation is not None and first.cache_creation.ephemeral_5m_input_tokens == 1100
        second = ask(_cached_system(4400), "another question")  # total ceil(4416 / 4) = 1104
        assert (second.cache_creation_input_tokens, second.cache_read_input_tokens, second.input_tokens) == (0, 1100, 4)

        # a second breakpoint extends the cached prefix: the known part is read, the rest created
        block = {"type": "text", "text": "U" * 2000, "cache_control": {"type": "ephemeral"}}
        third = ask(_cached_system(4400), [block, {"type": "text", "text": "q"}])  # prefixes 1100 and 1600 tokens
        assert (third.cache_read_input_tokens, third.cache_creation_input_tokens, third.input_tokens) == (1100, 500, 1)
        fourth = ask(_cached_system(4400), [block, {"type": "text", "text": "other"}])
        assert (fourth.cache_read_input_tokens, fourth.cache_creation_input_tokens, fourth.input_tokens) == (1600, 0, 2)

        # the cache is per model
        other_model = ask(_cached_system(4400), "hello there", model="claude-sonnet-4-6")
        assert (other_model.cache_creation_input_tokens, other_model.cache_read_input_tokens) == (1100, 0)

        # a prefix shorter than min_cache_tokens is never cached
        for _ in range(2):
            short = ask(_cached_system(400), "hi")
            assert (short.cache_creation_input_tokens, short.cache_read_input_tokens, short.input_tokens) == (0, 0, 101)


def test_top_level_cache_control_and_min_cache_tokens() -> None:
    with FakeClaude(min_cache_tokens=10) as fake, _client(fake) as client:
        usages = [
            client.messages.create(
                model=MODEL,
                max_tokens=64,
                cache_control={"type": "ephemeral"},
                messages=[{"role": "user", "content": "x" * 80}],
            ).usage
            for _ in range(2)
        ]
    assert (usages[0].cache_creation_input_tokens, usages[0].input_tokens) == (20, 0)
    assert (usages[1].cache_read_input_tokens, usages[1].input_tokens) == (20, 0)


# ---------------------------------------------------------------------------------------------------------------
# Faults
# ---------------------------------------------------------------------------------------------------------------


def test_429_retry_after_is_honoured_by_the_sdk_retry_and_counted() -> None:
    with FakeClaude(faults=["429", "429"], retry_after_seconds=0.3) as fake, _client(fake, max_retries=2) as client:
        started = time.monotonic()
        message = _create(client, "hello")
        elapsed = time.monotonic() - started
        assert message.stop_reason == "end_turn"
        assert fake.rate_limited_count == 2 and fake.fault_counts == {"429": 2}
        retry_counts = [r.headers["x-stainless-retry-count"] for r in fake.message_requests]
        assert retry_counts == ["0", "1", "2"]
    # the SDK slept retry-after-ms (300 ms) twice, not the integer retry-after (1 s) nor its own backoff
    assert 0.6 <= elapsed < 1.8

    with (
        FakeClaude(faults=["429"], retry_after_seconds=0.3) as fake,
        _client(fake, max_retries=0) as client,
        pytest.raises(anthropic.RateLimitError) as caught,
    ):
        _create(client, "hello")
    assert caught.value.status_code == 429 and caught.value.type == "rate_limit_error"
    assert caught.value.response.headers["retry-after"] == "1"
    assert caught.value.response.headers["retry-after-ms"] == "300"
    assert caught.value.request_id and caught.value.request_id.startswith("req_")


def test_server_errors_raise_the_sdk_classes() -> None:
    with FakeClaude(faults=["529", "500"]) as fake, _client(fake, max_retries=0) as client:
        with pytest.raises(anthropic.OverloadedError) as overloaded:
            _create(client, "hello")
        with pytest.raises(anthropic.InternalServerError) as internal:
            _create(client, "hello")
        assert _create(client, "hello").stop_reason == "end_turn"  # the list is used up
        assert fake.fault_counts == {"529": 1, "500": 1} and fake.status_counts == {529: 1, 500: 1, 200: 1}
    assert overloaded.value.status_code == 529 and overloaded.value.type == "overloaded_error"
    assert isinstance(overloaded.value, anthropic.InternalServerError)
    assert internal.value.status_code == 500 and internal.value.type == "api_error"
    assert not isinstance(internal.value, anthropic.OverloadedError)


def test_timeout_fault_times_the_client_out() -> None:
    with FakeClaude(faults=["timeout"], fault_timeout_seconds=3.0) as fake:
        with _client(fake, max_retries=0, timeout=0.3) as client, pytest.raises(anthropic.APITimeoutError):
            _create(client, "hello")
        with _client(fake, max_retries=0) as client:
            assert _create(client, "hello").stop_reason == "end_turn"
        assert fake.fault_counts == {"timeout": 1}


def test_content_faults_from_the_list() -> None:
    faults = ["refusal", "truncated", "malformed", None]
    with FakeClaude(faults=faults) as fake, _client(fake) as client:
        refusal, truncated, malformed, normal = (_create(client, TRANSCRIPT_A, schema=SCHEMA) for _ in faults)
        expected = fake.answer_for(fake.message_requests[-1].body)
        assert fake.faults_remaining == 0
    assert refusal.stop_reason == "refusal" and refusal.stop_details is not None
    assert refusal.stop_details.type == "refusal"
    assert truncated.stop_reason == "max_tokens"
    assert truncated.content[0].text == expected[: len(expected) // 2]
    assert malformed.stop_reason == "end_turn"
    for broken in (truncated, malformed):
        with pytest.raises(json.JSONDecodeError):
            json.loads(broken.content[0].text)
    assert normal.content[0].text == expected
    assert truncated.usage.output_tokens == math.ceil(len(truncated.content[0].text) / 4)


def test_marker_faults_target_one_conversation() -> None:
    with FakeClaude() as fake, _client(fake, max_retries=0) as client:
        for _ in range(2):  # every time
            with pytest.raises(anthropic.OverloadedError):
                _create(client, "user: hello [[fake:529]]")
            with pytest.raises(anthropic.RateLimitError):
                _create(client, "[[fake:429]] user: hello")
        assert _create(client, "user: hello").stop_reason == "end_turn"
        assert _create(client, "[[fake:truncated]] x", schema=SCHEMA).stop_reason == "max_tokens"
        assert _create(client, "[[fake:refusal]] x", schema=SCHEMA).stop_reason == "refusal"
        malformed = _create(client, "[[fake:malformed]] x", schema=SCHEMA).content[0].text
        with pytest.raises(json.JSONDecodeError):
            json.loads(malformed)
        assert fake.fault_counts == {"529": 2, "429": 2, "truncated": 1, "refusal": 1, "malformed": 1}


def test_bad_requests_get_400() -> None:
    with FakeClaude() as fake, _client(fake, max_retries=0) as client:
        with pytest.raises(anthropic.BadRequestError) as caught:
            client.messages.create(model=MODEL, max_tokens=10, messages=[])
        assert caught.value.type == "invalid_request_error"
        with pytest.raises(anthropic.BadRequestError):
            client.messages.create(model=MODEL, max_tokens=0, messages=[{"role": "user", "content": "x"}])
        with pytest.raises(anthropic.BadRequestError):
            client.messages.batches.create(
                requests=[{"custom_id": "has:colon", "params": {"model": MODEL, "max_tokens": 5, "messages": []}}]
            )
    with pytest.raises(ValueError, match="unknown fault"):
        FakeClaude(faults=["418"])


# ---------------------------------------------------------------------------------------------------------------
# Concurrency and rate limits
# ---------------------------------------------------------------------------------------------------------------


async def _burst(fake: FakeClaude, n: int, **client_kwargs: Any) -> tuple[int, list[BaseException]]:
    async with _async_client(fake, **client_kwargs) as client:
        outcomes = await asyncio.gather(
            *(
                client.messages.create(
                    model=MODEL, max_tokens=64, messages=[{"role": "user", "content": f"request {i}"}]
                )
                for i in range(n)
            ),
            return_exceptions=True,
        )
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    return len(outcomes) - len(errors), errors


def test_requests_per_second_burst_gets_429s() -> None:
    with FakeClaude(requests_per_second=5) as fake:
        ok, errors = asyncio.run(_burst(fake, 20, max_retries=0))
        assert ok >= 5 and errors
        assert all(isinstance(e, anthropic.RateLimitError) for e in errors)
        assert fake.rate_limited_count == len(errors)
        first = errors[0]
        assert isinstance(first, anthropic.RateLimitError)
        assert int(first.response.headers["retry-after"]) >= 1
        assert 1 <= int(first.response.headers["retry-after-ms"]) <= 1000


def test_max_concurrency_gets_429s() -> None:
    with FakeClaude(latency_seconds=0.3, max_concurrency=3) as fake:
        ok, errors = asyncio.run(_burst(fake, 10, max_retries=0))
        assert ok >= 3 and errors and all(isinstance(e, anthropic.RateLimitError) for e in errors)
        assert fake.peak_concurrency <= 3 and fake.rate_limited_count == len(errors)


def test_one_hundred_concurrent_requests_with_latency() -> None:
    with FakeClaude(latency_seconds=0.3, jitter_seconds=0.1, seed=7) as fake:
        started = time.monotonic()
        ok, errors = asyncio.run(_burst(fake, 100, max_retries=0))
        elapsed = time.monotonic() - started
        assert (ok, errors) == (100, [])
        assert fake.peak_concurrency >= 50
    assert elapsed < 4.0


def test_keep_alive_reuses_one_connection() -> None:
    with FakeClaude() as fake, _client(fake) as client:
        for i in range(5):
            _create(client, f"hello {i}")
        assert fake.connections_opened == 1


# ---------------------------------------------------------------------------------------------------------------
# Batches
# ---------------------------------------------------------------------------------------------------------------


def _params(text: str, *, schema: dict[str, Any] | None = None, system: Any = None) -> dict[str, Any]:
    params: dict[str, Any] = {"model": MODEL, "max_tokens": 1024, "messages": [{"role": "user", "content": text}]}
    if schema:
        params["output_config"] = {"format": {"type": "json_schema", "schema": schema}}
    if system:
        params["system"] = system
    return params


def test_batch_lifecycle_and_results() -> None:
    requests: list[Any] = [
        {"custom_id": "conv-a", "params": _params(TRANSCRIPT_A, schema=SCHEMA, system=_cached_system(4400))},
        {"custom_id": "conv-b", "params": _params(TRANSCRIPT_B, schema=SCHEMA, system=_cached_system(4400))},
        {"custom_id": "conv_c", "params": _params("user: hello [[fake:529]]")},
        {"custom_id": "conv-d", "params": _params("user: hello [[fake:refusal]]")},
    ]
    with FakeClaude(batch_polls_until_ended=2) as fake, _client(fake) as client:
        created = client.messages.batches.create(requests=requests)
        assert created.type == "message_batch" and created.id.startswith("msgbatch_")
        assert created.processing_status == "in_progress" and created.results_url is None
        assert created.request_counts.processing == 4 and created.ended_at is None
        assert created.expires_at > created.created_at

        assert client.messages.batches.retrieve(created.id).processing_status == "in_progress"
        ended = client.messages.batches.retrieve(created.id)
        assert ended.processing_status == "ended" and ended.ended_at is not None
        counts = ended.request_counts
        assert (counts.processing, counts.succeeded, counts.errored, counts.canceled) == (0, 3, 1, 0)
        assert ended.results_url is not None and ended.results_url.startswith(fake.base_url)

        results = {r.custom_id: r.result for r in client.messages.batches.results(created.id)}
        expected_a = fake.answer_for(requests[0]["params"])

    assert set(results) == {"conv-a", "conv-b", "conv_c", "conv-d"}
    a, b, c, d = (results[k] for k in ("conv-a", "conv-b", "conv_c", "conv-d"))
    assert a.type == "succeeded" and b.type == "succeeded" and d.type == "succeeded"
    assert a.message.content[0].text == expected_a  # same responder as the live endpoint
    assert _schema_errors(json.loads(b.message.content[0].text), SCHEMA, SCHEMA) == []
    assert a.message.usage.service_tier == "batch"
    # the batch has its own prompt cache, filled in request order
    assert (a.message.usage.cache_creation_input_tokens, a.message.usage.cache_read_input_tokens) == (1100, 0)
    assert (b.message.usage.cache_creation_input_tokens, b.message.usage.cache_read_input_tokens) == (0, 1100)
    assert c.type == "errored" and c.error.error.type == "overloaded_error"
    assert d.message.stop_reason == "refusal"
    assert fake.message_requests == []  # batches never touch the live endpoint


def test_batch_cancel_list_delete_and_async_results() -> None:
    async def scenario(fake: FakeClaude) -> None:
        async with _async_client(fake) as client:
            first = await client.messages.batches.create(requests=[{"custom_id": "a", "params": _params("one")}])
            second = await client.messages.batches.create(requests=[{"custom_id": "b", "params": _params("two")}])
            canceling = await client.messages.batches.cancel(second.id)
            assert canceling.processing_status == "canceling" and canceling.cancel_initiated_at is not None
            canceled = await client.messages.batches.retrieve(second.id)
            assert canceled.processing_status == "ended" and canceled.request_counts.canceled == 1
            results = [r async for r in await client.messages.batches.results(second.id)]
            assert [(r.custom_id, r.result.type) for r in results] == [("b", "canceled")]

            listed = [b.id async for b in client.messages.batches.list(limit=1)]
            assert listed == [second.id, first.id]  # newest first, across pages

            with pytest.raises(anthropic.AnthropicError, match="results_url"):  # the SDK checks before fetching
                await client.messages.batches.results(first.id)
            deleted = await client.messages.batches.delete(second.id)
            assert deleted.type == "message_batch_deleted"
            with pytest.raises(anthropic.NotFoundError):
                await client.messages.batches.retrieve(second.id)

    with FakeClaude(batch_polls_until_ended=3) as fake:
        asyncio.run(scenario(fake))


def test_batches_end_at_creation_with_zero_polls() -> None:
    with FakeClaude(batch_polls_until_ended=0) as fake, _client(fake) as client:
        batch = client.messages.batches.create(requests=[{"custom_id": "only", "params": _params("hi")}])
        assert batch.processing_status == "ended" and batch.request_counts.succeeded == 1


def test_count_input_tokens_helper_matches_the_endpoint() -> None:
    body = {"model": MODEL, "system": "abc", "messages": [{"role": "user", "content": [{"type": "text", "text": "d"}]}]}
    assert count_input_tokens(body) == 1
    with FakeClaude() as fake, _client(fake) as client:
        counted = client.messages.count_tokens(
            model=MODEL, system="abc", messages=[{"role": "user", "content": [{"type": "text", "text": "d" * 9}]}]
        )
    assert counted.input_tokens == 3  # ceil(12 / 4)
