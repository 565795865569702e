"""Equipment of the API, key and settings tests: a definitions folder whose demo workspace spans two files, the
demo's conversations, an in-process client and the check of the one error shape (fixtures: api_fixtures.py)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

from metricstore.api.app import create_app
from metricstore.config import Settings
from metricstore.evaluation.run import ClientFactory
from tests.conftest import REPO, event

WS = "ws_demo"
OTHER_WS = "ws_other"
CALL_ID = "call_1"

# The demo workspace's custom set, in two files (a PUT replaces both by one metrics.yaml).
AI_YAML = """\
metrics:
  - key: customer_mood
    name: Customer mood
    description: The customer's overall sentiment.
    metric_type: categorical
    extraction_mode: ai_sentiment
    aggregation: count_distinct
  - key: customer_satisfaction
    name: Customer satisfaction
    description: How satisfied the customer was, 1 to 5.
    metric_type: numerical
    extraction_mode: ai_query
    model_tier: fast
    ai_query_prompt: "Rate the customer's satisfaction from 1 to 5.\\n{{ transcript }}"
    aggregation: avg
"""
OPERATIONS_YAML = """\
key: voice_quality_score
name: Voice quality score
metric_type: numerical
extraction_mode: static
extract_path: $.quality_score
event_types: [call_intelligence.row]
aggregation: avg
valid_range_min: 0
valid_range_max: 100
"""
WORKSPACE_YAML = "# settings of the demo workspace\ndefault_metrics_enabled: true\n"


def write_defs(root: Path) -> Path:
    """The repository's built-ins and the demo workspace above, under ``root``."""
    shutil.copytree(REPO / "metric_defs" / "builtin", root / "builtin")
    ws_dir = root / "workspaces" / WS
    (ws_dir / "more").mkdir(parents=True)
    (ws_dir / "ai.yaml").write_text(AI_YAML)
    (ws_dir / "more" / "operations.yaml").write_text(OPERATIONS_YAML)
    (ws_dir / "workspace.yaml").write_text(WORKSPACE_YAML)
    return root


def conversation(event_id: str, at: str, call_id: str, score: float, **extra: object) -> dict[str, object]:
    transcript = [
        {"role": "user", "content": "I was charged twice for my order and I am really unhappy about it."},
        {"role": "assistant", "content": "I am sorry, I have refunded the second charge right away."},
        {"role": "user", "content": "Thank you, that is great, much appreciated."},
    ]
    return event(
        event_id,
        at,
        workspace_id=WS,
        id=call_id,
        quality_score=score,
        transcription=transcript,
        summary="Double charge refunded.",
        agentId="agent_7",
        contactId="contact_9",
        status="completed",
        **extra,
    )


def client_for(settings: Settings, client_factory: ClientFactory | None = None) -> TestClient:
    """An in-process client of the app; server errors come back as responses (500 in the error shape)."""
    return TestClient(create_app(settings, client_factory=client_factory), raise_server_exceptions=False)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The response has ``status`` and the one error shape; its ``error`` object."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "details"}
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], list)
    if code is not None:
        assert error["code"] == code
    return error
