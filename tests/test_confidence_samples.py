"""Confidence on Claude tiers, only where a definition asks for it: `confidence_samples: k` asks each conversation k
times, the value is the most frequent answer and its confidence the share that agrees; every answer is cached on
its own, so a process that dies between them buys none twice."""

from __future__ import annotations

import asyncio
import re
import threading
from collections import defaultdict
from pathlib import Path
from typing import Any

import anthropic
import duckdb
import pytest

from metricstore.definitions import MetricDefinition
from metricstore.evaluation.answers import agreement_of
from metricstore.evaluation.base import Evaluation
from metricstore.evaluation.claude import Budget, ClaudeEvaluator, ClaudeSettings, Pacer
from metricstore.evaluation.estimate import OUTPUT_TOKENS_PER_METRIC, estimate_window
from metricstore.evaluation.journal import CallJournal, replay_journals
from metricstore.evaluation.models import model_tiers
from metricstore.evaluation.pending import load_conversations
from metricstore.evaluation.run import evaluate_window
from metricstore.testing import FakeClaude
from metricstore.warehouse import connect
from tests.test_ai_run import CALLBACK, H12, SATISFACTION, catalog_with, client_for, conversations, prepare

SAMPLED = {**SATISFACTION, "confidence_samples": 3, "min_confidence": 0.7}
# what the fake answers a conversation's n-th satisfaction request, by the conversation's last digit
SCRIPT = {"0": [8, 8, 8], "1": [8, 3, 8], "2": [2, 5, 9]}


class ScriptedClaude:
    """A responder that answers each conversation's satisfaction requests from SCRIPT, in arrival order, and
    every other metric from a fixed answer; it counts the requests per conversation."""

    def __init__(self) -> None:
        self.asked: dict[str, list[list[str]]] = defaultdict(list)
        self.lock = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> dict[str, Any]:
        text = body["messages"][0]["content"][0]["text"]
        found = re.search(r'<conversation id="([^"]*)"', text)
        assert found is not None
        conversation = found.group(1)
        keys = list(body["output_config"]["format"]["schema"]["properties"])
        with self.lock:
            n = sum("satisfaction" in k for k in self.asked[conversation])
            self.asked[conversation].append(keys)
        answer: dict[str, Any] = {}
        for key in keys:
            value: Any = SCRIPT[conversation[-1]][n % 3] if key == "satisfaction" else True
            answer[key] = {"value": value, "rationale": "r", "evidence": [], "not_applicable": False}
        return answer


def test_confidence_samples_are_for_claude_tiers_and_change_the_version_only_when_set() -> None:
    plain = MetricDefinition.model_validate(SATISFACTION)
    sampled = MetricDefinition.model_validate({**SATISFACTION, "confidence_samples": 3})
    assert sampled.definition_version != plain.definition_version
    assert MetricDefinition.model_validate({**SATISFACTION}).definition_version == plain.definition_version
    assert MetricDefinition.model_validate(SAMPLED).min_confidence == 0.7  # a confidence to judge: accepted
    mood = {"key": "mood", "name": "Mood", "metric_type": "categorical", "extraction_mode": "ai_sentiment"}
    with pytest.raises(ValueError, match="confidence_samples: repeated answers are for Claude tiers"):
        MetricDefinition.model_validate({**mood, "confidence_samples": 3})
    with pytest.raises(ValueError, match="greater than or equal to 2"):
        MetricDefinition.model_validate({**SATISFACTION, "confidence_samples": 1})
    with pytest.raises(ValueError, match="min_confidence needs model_tier free, or confidence_samples"):
        MetricDefinition.model_validate({**SATISFACTION, "min_confidence": 0.5})


def _answer(value: float | None, cost: float) -> Evaluation:
    status = "ok" if value is not None else "not_applicable"
    return Evaluation("k", "v1", "c1", status, value_num=value, rationale=f"said {value}", cost_usd=cost)


def test_agreement_is_the_most_frequent_answer_and_the_share_that_agrees() -> None:
    two_of_three = agreement_of([_answer(3, 0.1), _answer(7, 0.2), _answer(7, 0.3)])
    assert (two_of_three.value_num, two_of_three.rationale) == (7, "said 7")
    assert two_of_three.confidence == pytest.approx(2 / 3)
    assert two_of_three.cost_usd == pytest.approx(0.6)  # every answer was bought
    tie = agreement_of([_answer(None, 0), _answer(4, 0)])  # not applicable is an answer too; a tie: the first
    assert (tie.status, tie.confidence) == ("not_applicable", 0.5)
    lists = [Evaluation("k", "v1", "c1", "ok", value_list=items) for items in (["a", "b"], ["b", "a"], ["c"])]
    assert agreement_of(lists).confidence == pytest.approx(2 / 3)  # the same set in another order agrees


def test_each_conversation_is_asked_k_times_and_its_value_is_their_agreement(
    conn: duckdb.DuckDBPyConnection, landing: Path, tmp_path: Path
) -> None:
    catalog = catalog_with(tmp_path, SAMPLED, CALLBACK)
    conversations(landing, 3)
    prepare(conn, landing, catalog, H12)
    estimates, calls = estimate_window(conn, catalog, H12)
    assert calls == 3 * 3  # per conversation: one call with both metrics, two more for the sampled one
    answers = {e.metric_key: e.output_tokens // OUTPUT_TOKENS_PER_METRIC for e in estimates}
    assert answers == {"satisfaction": 9, "callback_asked": 3}
    scripted = ScriptedClaude()
    with FakeClaude(responder=scripted) as server:
        result = evaluate_window(conn, catalog, H12, client_factory=client_for(server))
        assert len(server.message_requests) == 9
        for asked in scripted.asked.values():  # the first call asks both metrics, the repeats only the sampled one
            assert sorted(map(sorted, asked)) == [
                ["callback_asked", "satisfaction"],
                ["satisfaction"],
                ["satisfaction"],
            ]
        rows = conn.execute(
            "SELECT metric_key, entity_id, status::VARCHAR, value_num, confidence FROM metrics.metric_values "
            "ORDER BY metric_key, entity_id"
        ).fetchall()
        assert [r[2:] for r in rows if r[0] == "satisfaction"] == [
            ("ok", 8.0, 1.0),
            ("low_confidence", 8.0, pytest.approx(2 / 3)),  # below min_confidence 0.7: kept, not aggregated
            ("low_confidence", 2.0, pytest.approx(1 / 3)),  # no two agree: the first answer
        ]
        assert {r[4] for r in rows if r[0] == "callback_asked"} == {None}  # asked once: no confidence
        assert (result.calls, result.low_confidence) == (9, 2)
        cost = conn.execute(
            "SELECT (SELECT sum(cost_usd) FROM ops.llm_calls), (SELECT count(*) FROM ops.llm_calls)"
        ).fetchone()
        assert cost is not None and cost[1] == 9

        again = evaluate_window(conn, catalog, H12, client_factory=client_for(server))
        assert (again.calls, len(server.message_requests)) == (0, 9)  # the agreement is cached: nothing is bought


def test_a_process_that_dies_between_samples_buys_none_of_them_again(landing: Path, tmp_path: Path) -> None:
    catalog = catalog_with(tmp_path, SAMPLED)
    conversations(landing, 1)
    warehouse = tmp_path / "warehouse.duckdb"
    conn = connect(warehouse)
    prepare(conn, landing, catalog, H12)
    metric = next(d.definition for d in catalog.custom["ws_test"] if d.definition.key == "satisfaction")
    (conversation,) = load_conversations(conn, [("ws_test", "c2026-11-20T120")]).values()
    scripted, third_asked, release = ScriptedClaude(), threading.Event(), threading.Event()

    def responder(body: dict[str, Any]) -> dict[str, Any]:
        answer = scripted(body)
        if sum(map(len, scripted.asked.values())) == 3:  # the third sample: answered only once nobody listens
            third_asked.set()
            release.wait(30)
        return answer

    async def killed_after_two(server: FakeClaude) -> None:
        client = anthropic.AsyncAnthropic(base_url=server.base_url, api_key="test-key", max_retries=0)
        journal = CallJournal(warehouse, "dying-run", "dying")
        evaluator = ClaudeEvaluator(
            client,
            model_tiers()["fast"],
            asyncio.Semaphore(1),
            Budget(),
            ClaudeSettings(),
            Pacer(),
            journal=journal,
            tier="fast",
        )
        task = asyncio.create_task(evaluator.evaluate(conversation, [metric]))
        await asyncio.to_thread(third_asked.wait, 30)
        task.cancel()  # the process dies here: two answers are journalled, the third request was sent
        with pytest.raises(asyncio.CancelledError):
            await task
        journal.close()  # left for the next run, as a killed process leaves it
        await client.close()

    with FakeClaude(responder=responder) as server:
        asyncio.run(killed_after_two(server))
        release.set()
        assert replay_journals(conn) == 3  # two answered calls and the interrupted third
        result = evaluate_window(conn, catalog, H12, client_factory=client_for(server))
        assert len(server.message_requests) == 4  # only the third sample is asked again
    assert result.calls == 1
    row = conn.execute("SELECT value_num, confidence FROM metrics.metric_values WHERE metric_key = 'satisfaction'")
    assert row.fetchone() == (8.0, 1.0)  # the two journalled answers and the new third agree
