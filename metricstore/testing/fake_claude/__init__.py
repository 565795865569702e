"""A local, deterministic fake of the Claude API, for tests and benchmarks only.

`FakeClaude` runs an HTTP server on 127.0.0.1 in a background thread that speaks enough of the Anthropic API for
the real `anthropic` SDK to drive it: create the client with `base_url=fake.base_url, api_key="test-key"`.

Endpoints: `POST /v1/messages`, `POST /v1/messages/count_tokens`, `POST /v1/messages/batches`,
`GET /v1/messages/batches` (list), `GET /v1/messages/batches/{id}`, `GET /v1/messages/batches/{id}/results`,
`POST /v1/messages/batches/{id}/cancel`, `DELETE /v1/messages/batches/{id}`. Streaming (`stream: true`) is refused
with a 400.

Answers
    Deterministic functions of the request. The default responder (`default_responder`) answers a request that
    carries a JSON schema (`output_config.format.schema`, the older `output_format.schema`, or the `input_schema`
    of a tool forced by `tool_choice`) with JSON text that is a valid instance of that schema, every choice drawn
    from a SHA-256 of the request's messages (their roles and text, `cache_control` ignored) and the schema; the
    system prompt does not enter the hash. Constraints that the SDK's `transform_schema` moves into a
    description (`"{minimum: 1, maximum: 5}"`) are honoured too. String properties whose name contains
    "evidence" or "quote" (and arrays of such strings) get verbatim 5-12 word substrings of the user messages,
    preferring transcript-like lines (`role: text`, the role prefix left out). Without a schema the answer is a
    short deterministic sentence. `FakeClaude(responder=f)` replaces it: `f(request_body) -> str | dict`, a dict
    being JSON-dumped. A forced tool answers with a `tool_use` block (`stop_reason: "tool_use"`).

Token rule (`count_input_tokens`, `tokens_for_chars`)
    The prompt is the ordered sequence of text pieces: each tool definition (compact sorted JSON, without
    `cache_control`), the system prompt (a string, or one piece per block), then every message's content (a
    string, or one piece per block: a text block's `text`; a tool_use's name + JSON input; a tool_result's text;
    a text document's data; anything else as compact sorted JSON). Input tokens = ceil(total characters / 4).
    Output tokens = ceil(len(answer text) / 4) (for a tool_use, the JSON of its input). An answer longer than
    `max_tokens * 4` characters is cut there with `stop_reason: "max_tokens"`; a `stop_sequences` hit cuts the
    answer with `stop_reason: "stop_sequence"`.

Prompt caching
    A block with `cache_control: {"type": "ephemeral"}` (in `tools`, `system` or `messages[*].content`; the
    top-level `cache_control` marks the last piece) is a breakpoint (at most 4, else 400). The prefix up to and
    including a breakpoint is cacheable when ceil(prefix chars / 4) >= `min_cache_tokens`; its key is a hash of
    the model and the prefix pieces. Per request: R = the longest cacheable prefix already cached (its tokens are
    `cache_read_input_tokens`); C = ceil(last cacheable prefix chars / 4) - R when that prefix is longer
    (`cache_creation_input_tokens`, attributed to the last breakpoint's ttl in `usage.cache_creation`); every
    cacheable prefix is then cached; `input_tokens` = total - R - C. The cache never expires (`clear_cache()`).
    Only answered requests (200) touch the cache.

Faults
    Each valid `POST /v1/messages` (a 400 consumes nothing) consumes the next item of `faults`, in arrival order
    (`None` = normal). If that is `None` or the list is used up, the first `[[fake:KIND]]` marker in the text of
    the messages applies (the system prompt is not searched). KIND is one of `FAULT_KINDS`: "429"
    (rate_limit_error, `retry-after` / `retry-after-ms` from `retry_after_seconds`), "529" (overloaded_error),
    "500" (api_error), "timeout" (the server stalls `fault_timeout_seconds`, then answers normally: give the
    client a shorter timeout), "malformed" (text that is not JSON), "refusal" (`stop_reason: "refusal"`, a
    refusal sentence, `stop_details.type == "refusal"`), "truncated" (`stop_reason: "max_tokens"`, the first half
    of the normal answer). `fault_counts` counts the injected faults served.

Latency and limits
    Order per `POST /v1/messages`: a scripted or marker 429 is answered at once; then `max_concurrency` (a request
    arriving while that many are in flight gets 429, `retry-after(-ms)` from `retry_after_seconds`); then the
    `requests_per_second` token bucket (capacity `burst`; empty -> 429 whose `retry-after-ms` is the wait for the
    next token and `retry-after` that wait rounded up to whole seconds, at least 1); then the latency
    (`latency_seconds` + a jitter in [0, `jitter_seconds`) drawn from a hash of `seed` and the request body, so a
    retried body gets the same jitter); then the 500/529/timeout faults. `rate_limited_count` counts every 429.

Batches
    A batch is created `in_progress` and ends on its `batch_polls_until_ended`-th retrieve (0: ended at
    creation); no wall clock is involved. Results are computed with the same responder and token rules, in
    request order, against a prompt cache local to the batch (so the first request with a cacheable prefix
    creates it and later ones in the same batch read it; the live cache is neither read nor written), with
    `usage.service_tier == "batch"`. Requests carrying a "429", "529", "500" or "timeout" marker come back
    `errored`; the content markers give a `succeeded` result with the faulty content. The `faults` list does not
    apply to batches. A batch canceled before it ends reports every request `canceled` on its next retrieve.
"""

from __future__ import annotations

from metricstore.testing.fake_claude.answers import Responder, default_responder, fake_instance
from metricstore.testing.fake_claude.prompt import count_input_tokens, tokens_for_chars
from metricstore.testing.fake_claude.server import FAULT_KINDS, FakeClaude, RecordedRequest

__all__ = [
    "FAULT_KINDS",
    "FakeClaude",
    "RecordedRequest",
    "Responder",
    "count_input_tokens",
    "default_responder",
    "fake_instance",
    "tokens_for_chars",
]
