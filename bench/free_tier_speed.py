"""How long the free tier takes per conversation: sentiment, classification and extraction of one conversation
together, through :class:`LocalEvaluator`, on MultiDoGO conversations (the demo's ai.yaml metrics' shapes)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.free_tier_common import customer_turns, read_jsonl
from metricstore.definitions import MetricDefinition
from metricstore.evaluation.base import Conversation, Turn
from metricstore.evaluation.local import LocalEvaluator

CONVERSATIONS = 300
METRICS = [
    MetricDefinition.model_validate(m)
    for m in (
        {"key": "mood", "name": "mood", "metric_type": "categorical", "extraction_mode": "ai_sentiment"},
        {
            "key": "reason",
            "name": "reason",
            "metric_type": "categorical",
            "extraction_mode": "ai_classify",
            "ai_labels": [
                {"name": "billing", "description": "Charges, payments, refunds, invoices, fees, balances."},
                {"name": "account_access", "description": "Logging in, passwords, locked or stolen cards."},
                {"name": "booking", "description": "Booking, changing or cancelling flights, seats or orders."},
                {"name": "technical_issue", "description": "Something does not work: errors, crashes, outages."},
                {"name": "information", "description": "Questions about products, plans, policies or status."},
            ],
        },
        {
            "key": "details",
            "name": "details",
            "metric_type": "text",
            "extraction_mode": "ai_extract",
            "ai_labels": [
                {"name": "date", "type": "date", "description": "a date the customer gives"},
                {"name": "amount", "type": "amount", "description": "an amount of money"},
                {"name": "reference", "type": "id", "description": "a booking, order or account number"},
                {"name": "name", "type": "name", "description": "the customer's name"},
            ],
        },
    )
]


def milliseconds_per_conversation(datasets: Path) -> dict[str, Any]:
    path = datasets / "multidogo" / "conversations.jsonl.gz"
    if not path.is_file():
        return {"skipped": f"{path} not found"}
    rows = [r for r in read_jsonl(path) if customer_turns(r)][:CONVERSATIONS]
    conversations = [
        Conversation(
            workspace_id="bench",
            conversation_id=r["conversation_id"],
            occurred_at=datetime(2018, 9, 1, 12, tzinfo=UTC),
            transcript=tuple(Turn("user", t) for t in customer_turns(r)),
            call={},
        )
        for r in rows
    ]
    evaluator = LocalEvaluator()
    for metric in METRICS:  # warm up: imports, the label model, dateparser's tables
        evaluator.evaluate_one(conversations[0], metric)
    started = time.perf_counter()
    for conversation in conversations:
        for metric in METRICS:
            evaluator.evaluate_one(conversation, metric)
    seconds = time.perf_counter() - started
    return {
        "conversations": len(conversations),
        "metrics": [m.key for m in METRICS],
        "ms_per_conversation": round(1000 * seconds / len(conversations), 2),
    }
