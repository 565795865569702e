"""A fan-out SIGKILLed mid-way, then run again: no answer that reached the process is bought twice, and every
call the (fake) Claude API billed is in ops.llm_calls, the ones cut short as `interrupted`."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from metricstore.catalog import write_catalog_table
from metricstore.evaluation.pending import AiSettings
from metricstore.evaluation.run import evaluate_window
from metricstore.extract import extract_window
from metricstore.ingest import ingest_window
from metricstore.testing import FakeClaude, count_input_tokens, default_responder
from metricstore.warehouse import connect
from tests.test_ai_run import CALLBACK, H12, SATISFACTION, catalog_with, client_for, conversations

CHILD = """
import sys
from datetime import datetime
from pathlib import Path

import anthropic

from metricstore.catalog_loader import load_catalog
from metricstore.evaluation import run
from metricstore.evaluation.pending import AiSettings
from metricstore.warehouse import connect
from metricstore.windows import TimeWindow

warehouse, definitions, base_url, concurrency = sys.argv[1:]
run.STORE_EVERY_SECONDS = 3600  # the periodic store never comes: only the journal can keep the answers
window = TimeWindow(datetime(2026, 11, 20, 12), datetime(2026, 11, 20, 13))
run.evaluate_window(
    connect(warehouse),
    load_catalog(Path(definitions)),
    window,
    settings=AiSettings(concurrency=int(concurrency)),
    client_factory=lambda: anthropic.AsyncAnthropic(base_url=base_url, api_key="test-key", max_retries=0),
    run_id="killed-run",
)
"""

ANSWERED = 6  # the fake answers this many requests, then holds every later one until the child is dead
CONCURRENCY = 4
CONVERSATIONS = 20


def wait_until(condition: Callable[[], bool], seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def asked(body: dict[str, Any]) -> list[tuple[str, str]]:
    """The (conversation, metric) pairs one request asks for."""
    text = body["messages"][0]["content"][0]["text"]
    conversation = re.search(r'<conversation id="([^"]*)"', text)
    assert conversation is not None
    keys = body["output_config"]["format"]["schema"]["properties"]
    return [(conversation.group(1), key) for key in keys]


def test_a_fan_out_killed_mid_way_loses_no_answer_and_no_billed_call(tmp_path: Path, landing: Path) -> None:
    catalog = catalog_with(tmp_path, SATISFACTION, CALLBACK)
    conversations(landing, CONVERSATIONS)
    warehouse = tmp_path / "warehouse.duckdb"
    conn = connect(warehouse)
    write_catalog_table(conn, catalog)
    ingest_window(conn, landing, H12)
    extract_window(conn, catalog, H12)
    conn.close()

    arrivals = 0
    lock, child_dead = threading.Lock(), threading.Event()

    def holding_responder(body: dict[str, Any]) -> str:
        nonlocal arrivals
        with lock:
            arrivals += 1
            held = arrivals > ANSWERED
        if held:  # billed, but the answer only leaves once nobody is there to read it
            child_dead.wait(60)
        return default_responder(body)

    with FakeClaude(responder=holding_responder) as fake:
        try:
            child = subprocess.Popen(
                [sys.executable, "-c", CHILD, str(warehouse), str(tmp_path / "defs"), fake.base_url, str(CONCURRENCY)]
            )
            # ANSWERED answers received, and every call slot waiting on a held request: nothing else can move
            wait_until(lambda: child.poll() is not None or len(fake.message_requests) >= ANSWERED + CONCURRENCY)
            assert child.poll() is None, "the child ended by itself"
            time.sleep(0.3)
            assert len(fake.message_requests) == ANSWERED + CONCURRENCY
            os.kill(child.pid, signal.SIGKILL)
            assert child.wait(30) == -signal.SIGKILL
        finally:
            child_dead.set()
        wait_until(lambda: fake.status_counts.get(200, 0) == ANSWERED + CONCURRENCY)  # the held ones are billed
        first_run = [r.body for r in fake.message_requests]
        assert len(list(tmp_path.glob("warehouse.duckdb.llm-journal-*.jsonl"))) == 1

        conn = connect(warehouse)
        assert conn.execute("SELECT count(*) FROM ops.llm_calls").fetchone() == (0,)  # nothing was stored
        rerun = evaluate_window(
            conn, catalog, H12, settings=AiSettings(concurrency=CONCURRENCY), client_factory=client_for(fake)
        )
        billed = fake.status_counts.get(200, 0)
        bodies = [r.body for r in fake.message_requests]

    # no answer that reached the killed process was bought again: only the held requests' pairs were asked twice
    received, held = first_run[:ANSWERED], first_run[ANSWERED:]
    times_asked = Counter(pair for body in bodies for pair in asked(body))
    assert len(times_asked) == CONVERSATIONS * 2
    assert {pair for pair, n in times_asked.items() if n > 1} == {pair for body in held for pair in asked(body)}
    assert max(times_asked.values()) == 2
    assert (rerun.cache_hits, rerun.calls) == (2 * ANSWERED, CONVERSATIONS - ANSWERED)

    # every billed call is recorded once: the received ones with the tokens the API billed, the held ones cut short
    assert billed == len(bodies) == CONVERSATIONS + CONCURRENCY
    calls = conn.execute(
        "SELECT run_id, outcome, conversation_id, input_tokens, attempts FROM ops.llm_calls ORDER BY ALL"
    ).fetchall()
    assert len(calls) == billed
    killed = [c for c in calls if c[0] == "killed-run"]
    assert sorted((c[2], c[3]) for c in killed if c[1] == "ok") == sorted(
        (asked(body)[0][0], count_input_tokens(body)) for body in received
    )
    assert sorted((c[2], c[4]) for c in killed if c[1] == "interrupted") == sorted(
        (asked(body)[0][0], 1) for body in held
    )
    assert Counter(c[1] for c in calls if c[0] != "killed-run") == {"ok": CONVERSATIONS - ANSWERED}

    # every pair has its value, and the journal is gone
    pairs = conn.execute("SELECT count(DISTINCT (metric_key, entity_id)) FROM metrics.metric_values").fetchone()
    assert pairs == (2 * CONVERSATIONS,)
    assert list(tmp_path.glob("warehouse.duckdb.llm-journal-*")) == []
    conn.close()
