"""Whether an ``ai_query_prompt`` renders: at validation time against a sample conversation (so a typo such as
``{{ transcrpt }}``, a blocked sandbox escape or a template that never ends is refused with the definition's
errors), and at run time against each conversation before its model call (so a prompt that fails for one
conversation fails that metric there, not the call or the run).

Rendering is the evaluator's own (:func:`metricstore.evaluation.prompts.render_metric_prompt`: Jinja's sandbox,
StrictUndefined, bounded time and output); only the reason of a failure is put into words here.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from jinja2 import Environment, TemplateError, nodes
from jinja2.exceptions import SecurityError, UndefinedError

from metricstore.definitions import MetricDefinition
from metricstore.evaluation.base import Conversation, Turn
from metricstore.evaluation.prompts import PROMPT_VARIABLES, render_metric_prompt
from metricstore.evaluation.sandbox import PromptRefused

# A conversation with every field of a post-call record (CONTRACT §3); see sample_conversation.
SAMPLE_CONVERSATION = Conversation(
    workspace_id="ws_sample",
    conversation_id="conv_sample",
    occurred_at=datetime(2026, 1, 1, 12, 0),
    transcript=(
        Turn("assistant", "Thank you for calling, how can I help?"),
        Turn("user", "I was charged twice for my order and would like a refund."),
    ),
    call={
        "id": "conv_sample",
        "contactId": "contact_1",
        "agentId": "agent_1",
        "status": "completed",
        "startTime": "2026-01-01T12:00:00Z",
        "endTime": "2026-01-01T12:05:00Z",
        "duration": 300,
        "phoneNumber": "+15555550100",
        "contactName": "Sam Sample",
        "recordingUrl": "https://example.com/recording.mp3",
        "transcription": [
            {"role": "assistant", "content": "Thank you for calling, how can I help?"},
            {"role": "user", "content": "I was charged twice for my order and would like a refund."},
        ],
        "summary": "The customer asked for a refund of a double charge.",
        "intent": "refund",
        "sentiment": "negative",
        "confidence": 0.9,
        "keyPoints": ["double charge", "refund requested"],
        "actionItems": ["refund the second charge"],
        "callStatus": "resolved",
        "callbackRequired": False,
        "promisedDate": "2026-01-03",
        "selfEvaluation": "The agent handled the request.",
        "followUpAction": "none",
        "ticketRaised": True,
        "quality_score": 80,
    },
    session_id="session_1",
    service_id="svc_1",
    channel="voice",
    direction="inbound",
)


_PARSER = Environment()  # syntax only: which `call` fields a template names


def sample_conversation(metric: MetricDefinition) -> Conversation:
    """The conversation a prompt is validated on: :data:`SAMPLE_CONVERSATION`, plus a text value for every other
    ``call.<field>`` (or ``call['field']``) the prompt names, since a snapshot's ``data`` may carry any field
    (CONTRACT §3). A conversation without that field fails the metric there at run time, not the run."""
    if not metric.ai_query_prompt:
        return SAMPLE_CONVERSATION
    tree = _PARSER.parse(metric.ai_query_prompt)
    named = {n.attr for n in tree.find_all(nodes.Getattr) if isinstance(n.node, nodes.Name) and n.node.name == "call"}
    named |= {
        n.arg.value
        for n in tree.find_all(nodes.Getitem)
        if isinstance(n.node, nodes.Name) and n.node.name == "call" and isinstance(n.arg, nodes.Const)
    }
    extra = {str(name): f"sample {name}" for name in named if name not in SAMPLE_CONVERSATION.call}
    return (
        dataclasses.replace(SAMPLE_CONVERSATION, call={**SAMPLE_CONVERSATION.call, **extra})
        if extra
        else SAMPLE_CONVERSATION
    )


def prompt_problem(metric: MetricDefinition, conversation: Conversation, *, redacted: bool = True) -> str | None:
    """Why the metric's ``ai_query_prompt`` does not render for ``conversation`` (None when it does)."""
    try:
        render_metric_prompt(metric, conversation, redacted=redacted)
    except UndefinedError as exc:
        return f"does not render: {exc.message} (the variables are {', '.join(PROMPT_VARIABLES)})"
    except SecurityError as exc:
        return f"does not render: the sandbox refused it: {exc.message}"
    except PromptRefused as exc:
        return f"does not render: {exc}"
    except TemplateError as exc:
        return f"does not render: {exc.message}"
    except Exception as exc:  # a template's own runtime error (1 / 0, a bad call): the metric's, not the run's
        return f"does not render: {type(exc).__name__}: {exc}"
    return None
