"""On-demand evaluation of one metric on one conversation: nothing is persisted.

It reads conversations from ``raw.conversations`` (their latest snapshots), so it runs on the published warehouse
the API and the CLI open, never on the one the job writes."""

from __future__ import annotations

import asyncio

import duckdb

from metricstore.catalog_loader import MetricCatalog
from metricstore.definitions import MetricDefinition
from metricstore.evaluation.answers import apply_min_confidence
from metricstore.evaluation.base import Conversation, Evaluation
from metricstore.evaluation.claude import ClaudeEvaluator
from metricstore.evaluation.local import LocalEvaluator
from metricstore.evaluation.models import model_tiers
from metricstore.evaluation.pending import conversation_from_row
from metricstore.evaluation.run import ClientFactory, default_client
from metricstore.prompt_check import prompt_problem


class OnDemandError(Exception):
    """A request that cannot be evaluated; ``kind`` says why (the API maps it to a status code)."""

    def __init__(self, kind: str, message: str):
        # unknown_metric | unknown_conversation | unsupported_mode | prompt_error | no_api_key | model_error
        self.kind = kind
        super().__init__(message)


def find_metric(catalog: MetricCatalog, workspace_id: str, key: str) -> MetricDefinition:
    for loaded in catalog.definitions_for(workspace_id, include_inactive=True):
        if loaded.definition.key == key:
            return loaded.definition
    raise OnDemandError("unknown_metric", f"no metric '{key}' in workspace {workspace_id}")


def conversation_workspace(conn: duckdb.DuckDBPyConnection, conversation_id: str) -> str:
    """The one workspace that has this conversation; an error when none or several do."""
    rows = conn.execute(
        "SELECT workspace_id FROM raw.conversations WHERE conversation_id = ? ORDER BY 1", [conversation_id]
    ).fetchall()
    if not rows:
        raise OnDemandError("unknown_conversation", f"no conversation '{conversation_id}' in the warehouse")
    if len(rows) > 1:
        names = ", ".join(r[0] for r in rows)
        raise OnDemandError("unknown_conversation", f"'{conversation_id}' is in several workspaces ({names}): give one")
    return str(rows[0][0])


def find_conversation(conn: duckdb.DuckDBPyConnection, workspace_id: str, conversation_id: str) -> Conversation | None:
    """A conversation by its latest snapshot (``raw.conversations``), or None."""
    cursor = conn.execute(
        "SELECT * FROM raw.conversations WHERE workspace_id = ? AND conversation_id = ?",
        [workspace_id, conversation_id],
    )
    names = [column[0] for column in cursor.description or []]
    row = cursor.fetchone()
    return conversation_from_row(dict(zip(names, row, strict=True))) if row is not None else None


def evaluate_on_demand(
    conn: duckdb.DuckDBPyConnection,
    catalog: MetricCatalog,
    key: str,
    conversation_id: str,
    workspace_id: str | None = None,
    *,
    client_factory: ClientFactory = default_client,
) -> Evaluation:
    """Evaluate ``key`` on the latest snapshot of ``conversation_id``; raise :class:`OnDemandError`."""
    metric, conversation = on_demand_subject(conn, catalog, key, conversation_id, workspace_id)
    return evaluate_subject(metric, conversation, client_factory=client_factory)


def on_demand_subject(
    conn: duckdb.DuckDBPyConnection,
    catalog: MetricCatalog,
    key: str,
    conversation_id: str,
    workspace_id: str | None = None,
) -> tuple[MetricDefinition, Conversation]:
    """The AI metric and the conversation an on-demand evaluation asks about, read from ``conn``; the model call
    (:func:`evaluate_subject`) needs no connection, so a server can release it before calling."""
    workspace_id = workspace_id or conversation_workspace(conn, conversation_id)
    metric = find_metric(catalog, workspace_id, key)
    if not metric.is_ai:
        mode = metric.computed_mode or "derived ratio"
        raise OnDemandError(
            "unsupported_mode",
            f"'{key}' is a {mode} metric, computed by the hourly job; on-demand evaluation is for AI metrics",
        )
    conversation = find_conversation(conn, workspace_id, conversation_id)
    if conversation is None:
        raise OnDemandError("unknown_conversation", f"no conversation '{conversation_id}' in workspace {workspace_id}")
    return metric, conversation


def evaluate_subject(
    metric: MetricDefinition, conversation: Conversation, *, client_factory: ClientFactory = default_client
) -> Evaluation:
    """Evaluate one AI metric on one conversation now; raise :class:`OnDemandError` (prompt, key, model)."""
    key, conversation_id = metric.key, conversation.conversation_id
    if metric.model_tier == "free":
        (evaluation,) = asyncio.run(LocalEvaluator().evaluate(conversation, [metric]))
        apply_min_confidence(metric, evaluation)
        return evaluation
    problem = prompt_problem(metric, conversation) if metric.ai_query_prompt else None
    if problem:  # as the hourly run does: this conversation cannot be asked this metric's prompt
        raise OnDemandError("prompt_error", f"'{key}' cannot be asked of '{conversation_id}': {problem}")

    async def ask() -> Evaluation:
        client = client_factory()  # inside the event loop that uses it
        if client is None:
            raise OnDemandError("no_api_key", f"'{key}' runs on the {metric.model_tier} tier: set ANTHROPIC_API_KEY")
        try:
            evaluator = ClaudeEvaluator(client, model_tiers()[metric.model_tier], asyncio.Semaphore(1))
            (evaluation,) = await evaluator.evaluate(conversation, [metric])
        finally:
            await client.close()
        return evaluation

    evaluation = asyncio.run(ask())
    if evaluation.status == "error":
        raise OnDemandError("model_error", f"the model call failed: {evaluation.error}")
    apply_min_confidence(metric, evaluation)
    return evaluation
