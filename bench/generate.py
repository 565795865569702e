"""A deterministic scale generator of landing data: N conversations an hour over H hours, all six sources.

Realistic sizes without realistic cost: transcripts (10–60 turns, customer turns from the shipped MultiDoGO
sample) are drawn from a pre-built pool, so a million events take about a minute to write.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

SIDE_SOURCES = {
    "world_events": ("world_events.tool_call", "world_events.handoff", "world_events.goal_completed"),
    "surface_events": ("surface_events.impression", "surface_events.click", "surface_events.error"),
    "emotion_events": ("emotion_events.detected",),
    "connector_events": ("connector_events.request",),
    "voice_judge_results": ("voice_judge_results.scored",),
}
STATUSES = ("completed",) * 8 + ("escalated", "abandoned")
AGENT_LINES = (
    "Thanks for reaching out, I can help with that.",
    "Could you confirm the account holder's name for me?",
    "I've pulled up your details, one moment please.",
    "That's done. Is there anything else I can help with today?",
    "I understand, let me check what options we have.",
    "I've raised a ticket and you'll get an email confirmation shortly.",
)


@dataclass(frozen=True)
class GeneratedLanding:
    start: datetime
    end: datetime
    conversations: int
    events: int
    bytes_written: int


def _customer_lines() -> list[str]:
    sample = resources.files("metricstore") / "demo_data" / "multidogo" / "sample_conversations.jsonl"
    lines = []
    for row in sample.read_text(encoding="utf-8").splitlines():
        lines += [t["text"] for t in json.loads(row)["turns"] if t["text"].strip()]
    return lines


def _transcript_pool(rng: random.Random, size: int) -> list[str]:
    customer = _customer_lines()
    pool = []
    for _ in range(size):
        turns = []
        for i in range(rng.randint(10, 60)):
            role, text = ("user", rng.choice(customer)) if i % 2 else ("assistant", rng.choice(AGENT_LINES))
            turns.append({"role": role, "content": text})
        pool.append(json.dumps(turns, separators=(",", ":")))
    return pool


def generate_landing(
    landing: Path, *, conversations_per_hour: int, hours: int, end: datetime, seed: int = 42, side_events: int = 1
) -> GeneratedLanding:
    """Write ``hours`` hours ending at ``end`` (naive UTC, on the hour) into ``landing``; same inputs, same bytes.

    Each conversation is one final `call_intelligence.row` snapshot; ``side_events`` events of the other
    sources accompany each conversation, round-robin over the five sources.
    """
    rng = random.Random(seed)
    pool = _transcript_pool(rng, 400)
    start = end - timedelta(hours=hours)
    sources = list(SIDE_SOURCES)
    events = conversations = written = 0
    for h in range(hours):
        hour_start = start + timedelta(hours=h)
        stamp = hour_start.strftime("%Y/%m/%d/%H")
        files = {s: landing / s / f"{stamp}.jsonl" for s in ["call_intelligence", *sources]}
        buffers: dict[str, list[str]] = {s: [] for s in files}
        for n in range(conversations_per_hour):
            conversations += 1
            at = hour_start + timedelta(seconds=rng.randrange(3600))
            conv = f"conv_{seed}_{h}_{n}"
            channel = "voice" if rng.random() < 0.65 else "text"
            direction = "inbound" if rng.random() < 0.75 else "outbound"
            sentiment = rng.choice(("positive", "neutral", "neutral", "negative"))
            duration = rng.randint(30, 1200)
            envelope = (
                f'"workspace_id":"ws_bench","occurred_at":"{at:%Y-%m-%dT%H:%M:%S}Z",'
                f'"session_id":"CA{seed}{h}x{n}","service_id":"svc_{n % 3}","channel":"{channel}",'
                f'"direction":"{direction}","is_simulation":{"true" if rng.random() < 0.05 else "false"}'
            )
            data = (
                f'{{"id":"{conv}","snapshot_version":1,"contactId":"cnt_{rng.randrange(50000)}",'
                f'"agentId":"agt_{rng.randrange(40)}","status":"{rng.choice(STATUSES)}",'
                f'"startTime":"{at - timedelta(seconds=duration):%Y-%m-%dT%H:%M:%S}Z",'
                f'"endTime":"{at:%Y-%m-%dT%H:%M:%S}Z",'
                f'"duration":{duration},"phoneNumber":"+1555{rng.randrange(10**7):07d}","contactName":"Customer {n}",'
                f'"transcription":{rng.choice(pool)},"summary":"Customer asked about their account; resolved.",'
                f'"intent":"{rng.choice(("billing", "cancel", "upgrade", "outage", "other"))}",'
                f'"sentiment":"{sentiment}","confidence":{rng.randint(50, 99) / 100},'
                f'"keyPoints":["account","resolution"],"actionItems":["send confirmation"],'
                f'"callStatus":"{rng.choice(("resolved", "resolved", "unresolved", "escalated"))}",'
                f'"callbackRequired":{"true" if rng.random() < 0.2 else "false"},"promisedDate":null,'
                f'"selfEvaluation":{rng.randint(1, 10)},"followUpAction":null,'
                f'"ticketRaised":{"true" if rng.random() < 0.3 else "false"},"quality_score":{rng.randint(20, 100)}}}'
            )
            buffers["call_intelligence"].append(
                f'{{"event_id":"evt_{seed}_{h}_{n}","source":"call_intelligence",'
                f'"event_type":"call_intelligence.row",{envelope},"data":{data}}}'
            )
            for k in range(side_events):
                source = sources[(n + k) % len(sources)]
                kind = SIDE_SOURCES[source][rng.randrange(len(SIDE_SOURCES[source]))]
                side = (
                    f'{{"name":"x","outcome":"{rng.choice(("success", "failure"))}","intensity":{rng.random():.3f},'
                    f'"emotion":"{rng.choice(("joy", "neutral", "anger"))}",'
                    f'"status":"{rng.choice(("success", "error"))}",'
                    f'"latency_ms":{rng.randint(5, 2000)},"score":{rng.randint(0, 100) / 10},'
                    f'"passed":{"true" if rng.random() < 0.8 else "false"}}}'
                )
                buffers[source].append(
                    f'{{"event_id":"sev_{seed}_{h}_{n}_{k}","source":"{source}","event_type":"{kind}",'
                    f'{envelope},"data":{side}}}'
                )
        for source, lines in buffers.items():
            if not lines:
                continue
            files[source].parent.mkdir(parents=True, exist_ok=True)
            text = "\n".join(lines) + "\n"
            files[source].write_text(text, encoding="utf-8")
            written += len(text)
            events += len(lines)
    return GeneratedLanding(start, end, conversations, events, written)


# ---- helpers shared by the benchmarks (temp folders, built-in-only definitions, measured child processes) ----

REPO = Path(__file__).resolve().parent.parent


def builtin_defs(folder: Path) -> Path:
    """A metric_defs folder holding only the 42 built-ins (no workspace, so no AI metric): returns its path."""
    import shutil

    defs = folder / "metric_defs"
    shutil.copytree(REPO / "metric_defs" / "builtin", defs / "builtin")
    return defs


def pipeline_steps(conn: Any, catalog: Any, landing: Path, window: Any) -> list[tuple[str, Callable[[], Any]]]:
    """ingest → extract → aggregate of one window, as (name, call) pairs for a benchmark to time."""
    from metricstore.aggregate import aggregate_window
    from metricstore.extract import extract_window
    from metricstore.ingest import ingest_window

    return [
        ("ingest", lambda: ingest_window(conn, landing, window)),
        ("extract", lambda: extract_window(conn, catalog, window)),
        ("aggregate", lambda: aggregate_window(conn, catalog, window)),
    ]


def time_steps(steps: list[tuple[str, Callable[[], Any]]]) -> tuple[dict[str, float], dict[str, Any]]:
    """Run the steps in order: seconds and result of each, by name."""
    seconds: dict[str, float] = {}
    results: dict[str, Any] = {}
    for name, step in steps:
        started = time.perf_counter()
        results[name] = step()
        seconds[name] = time.perf_counter() - started
    return seconds, results


def reset_peak_rss() -> bool:
    """Reset this process's peak resident set (VmHWM) so the next reading covers what follows (Linux ≥ 4.0)."""
    try:
        Path("/proc/self/clear_refs").write_text("5", encoding="ascii")
    except OSError:
        return False
    return True


def peak_rss_bytes() -> int | None:
    """This process's peak resident set since start or the last :func:`reset_peak_rss` (None off Linux)."""
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def run_in_child(target: str, payload: dict[str, Any], *, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``module:function(payload) -> dict`` in a fresh ``python -c`` child process and return its dict.

    The result carries ``peak_rss_bytes``: the child's own ``ru_maxrss`` at its end, which is also what the
    parent reads from ``getrusage(RUSAGE_CHILDREN)`` once the child is reaped (``parent_rusage_children_bytes``
    is that reading: the largest child so far, so it equals the child's peak whenever this child is the biggest);
    ``child_cpu_seconds`` (user + system) and ``load_average`` (1-minute, before and after) tell a busy machine.
    """
    import os
    import resource
    import subprocess
    import sys
    import tempfile

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="metricstore-bench-io-") as io:
        given, taken = Path(io) / "in.json", Path(io) / "out.json"
        given.write_text(json.dumps(payload), encoding="utf-8")
        code = "import sys; from bench.generate import child_main; child_main(sys.argv[1:])"
        completed = subprocess.run(
            [sys.executable, "-c", code, target, str(given), str(taken)],
            cwd=REPO,
            env=env if env is not None else dict(os.environ),
            capture_output=True,
            text=True,
            check=False,
        )
        if completed.returncode != 0:
            raise RuntimeError(f"{target} failed ({completed.returncode}):\n{completed.stderr[-4000:]}")
        result: dict[str, Any] = json.loads(taken.read_text(encoding="utf-8"))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result["parent_rusage_children_bytes"] = after.ru_maxrss * 1024
    # CPU the child used, and the 1-minute load average around it: a busy machine shows in both
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    result["child_cpu_seconds"] = round(cpu, 2)
    result["load_average"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    return result


def child_main(argv: list[str]) -> None:
    """The child side of :func:`run_in_child`: ``module:function in.json out.json``."""
    import importlib
    import resource

    target, given, taken = argv
    module, _, function = target.partition(":")
    payload = json.loads(Path(given).read_text(encoding="utf-8"))
    result = getattr(importlib.import_module(module), function)(payload)
    result["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    Path(taken).write_text(json.dumps(result), encoding="utf-8")
