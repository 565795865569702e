"""The static path at scale: one day of ``call_intelligence`` events through ingestion, the 42 built-ins and the
aggregates as ONE window (what a range backfill of the job does), against a floor and a naive baseline.

* **Data**: ``generate_landing`` with ``side_events=0`` (only call-intelligence rows, 10–60-turn transcripts),
  24 hourly files of one day: 24 × 41,667 = 1,000,008 events by default, 24 × 2,084 = 50,016 with ``--quick``.
* **Measured work** (in a child process, so its peak RSS is its own): ``ingest_window``, ``extract_window``,
  ``aggregate_window`` over the whole day, timed each with ``time.perf_counter`` on a fresh warehouse; the
  connection and catalog table are set up before the clock starts (``setup_seconds``). Peak RSS per stage is the
  child's VmHWM, reset (``/proc/self/clear_refs``) as each stage starts; the overall peak is the largest of them
  and the child's ``ru_maxrss`` (which the reset lowers too).
* **Floor**: ``SELECT count(*) FROM read_json(files, format='newline_delimited')`` in a fresh in-memory DuckDB,
  one read of every file, in its own child, once before and once after the pipeline; the faster one counts.
* **Naive baseline**: a Python loop (``json.loads`` per line, a pydantic model per row holding the envelope and
  the data fields the built-ins read, dict look-ups for the 42 values, Python aggregation hourly, daily and
  ratios) over the first ``NAIVE_SAMPLE`` of the lines in file order, its time scaled linearly to all lines.
  Its hourly aggregates of the hours it read completely are compared with the pipeline's (``naive_check``).
* **Profile** (always at the quick size): pyinstrument's top frames under the three stages, and every
  data-changing statement run as ``EXPLAIN (ANALYZE, FORMAT JSON)`` to show which operators dominate.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from bench.generate import (
    builtin_defs,
    generate_landing,
    peak_rss_bytes,
    pipeline_steps,
    reset_peak_rss,
    run_in_child,
)

HOURS = 24
DEFAULT_EVENTS = 1_000_000
QUICK_EVENTS = 50_000
PROFILE_EVENTS = 50_000
END = datetime(2026, 3, 2)
NAIVE_SAMPLE = 0.10
CHECK_HOURS = 3  # the pipeline exports its hourly aggregates of the first hours for the naive cross-check
TARGET_FLOOR_RATIO = 3.0
TARGET_NAIVE_SPEEDUP = 20.0
TARGET_PEAK_BYTES = 4 * 1024**3
GIB = 1024**3


# ---------------------------------------------------------------------------------------------------------------
# the measured pipeline (child processes)


def _stages(conn: Any, catalog: Any, landing: Path, start: datetime, end: datetime) -> dict[str, dict[str, Any]]:
    """ingest → extract → aggregate over one window; seconds, peak RSS and what each stage reported."""
    from metricstore.windows import TimeWindow

    stages: dict[str, dict[str, Any]] = {}
    for name, step in pipeline_steps(conn, catalog, landing, TimeWindow(start, end)):
        if hasattr(conn, "stage"):
            conn.stage = name
        reset = reset_peak_rss()
        started = time.perf_counter()
        result = step()
        seconds = time.perf_counter() - started
        figures = {k: v for k, v in vars(result).items() if isinstance(v, int | float)}
        stages[name] = {"seconds": round(seconds, 3), **figures, "peak_rss_bytes": peak_rss_bytes() if reset else None}
    return stages


def _setup(payload: dict[str, Any]) -> tuple[Any, Any, Path, datetime, datetime]:
    from metricstore.catalog import write_catalog_table
    from metricstore.catalog_loader import load_catalog
    from metricstore.warehouse import connect

    catalog = load_catalog(Path(payload["metric_defs"]))
    conn = connect(Path(payload["warehouse"]))
    write_catalog_table(conn, catalog)
    start, end = datetime.fromisoformat(payload["start"]), datetime.fromisoformat(payload["end"])
    return conn, catalog, Path(payload["landing"]), start, end


def pipeline_child(payload: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    conn, catalog, landing, start, end = _setup(payload)
    setup_seconds = time.perf_counter() - started
    stages = _stages(conn, catalog, landing, start, end)
    rows = {
        table: int(conn.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])  # noqa: S608 (fixed names)
        for table in ("raw.events", "metrics.metric_values", "metrics.metric_aggregates")
    }
    # the generator's event ids end in their 0-based line (`evt_<seed>_<hour>_<n>`): ingestion's line numbers,
    # which come from the stored order of the parse, checked on files large enough to be read by several threads
    misnumbered = conn.execute(
        "SELECT count(*) FROM raw.events WHERE line <> split_part(event_id, '_', 4)::BIGINT + 1"
    ).fetchall()[0][0]
    check = conn.execute(
        "SELECT metric_key, period_start, source, value, sample_count FROM metrics.metric_aggregates "
        "WHERE granularity = 'hourly' AND period_start < ? ORDER BY ALL",
        [start + timedelta(hours=CHECK_HOURS)],
    ).fetchall()
    conn.close()
    warehouse = Path(payload["warehouse"])
    size = sum(p.stat().st_size for p in warehouse.parent.glob(warehouse.name + "*") if p.is_file())
    return {
        "setup_seconds": round(setup_seconds, 3),
        "stages": stages,
        "total_seconds": round(sum(s["seconds"] for s in stages.values()), 3),
        "rows": rows,
        "warehouse_bytes": size,
        "check": [[k, p.isoformat(), s, v, n] for k, p, s, v, n in check],
        "misnumbered_lines": int(misnumbered),
    }


def floor_child(payload: dict[str, Any]) -> dict[str, Any]:
    import duckdb

    conn = duckdb.connect()
    started = time.perf_counter()
    count = conn.execute("SELECT count(*) FROM read_json(?, format='newline_delimited')", [payload["files"]]).fetchall()
    return {"seconds": round(time.perf_counter() - started, 3), "rows": int(count[0][0])}


# ---------------------------------------------------------------------------------------------------------------
# the naive baseline: json.loads + a pydantic model per row + dict look-ups + Python aggregation


class NaiveCallData(BaseModel):
    """The `data` fields of a call-intelligence snapshot that the built-ins read."""

    model_config = ConfigDict(extra="ignore")
    id: str | int
    snapshot_version: int | None = None
    contactId: str | None = None
    agentId: str | None = None
    status: str | None = None
    callStatus: str | None = None
    startTime: str | None = None
    endTime: str | None = None
    duration: float | str | None = None
    transcription: list[Any] | None = None
    summary: str | None = None
    intent: str | None = None
    sentiment: str | None = None
    confidence: float | None = None
    keyPoints: list[Any] | str | None = None
    actionItems: list[Any] | str | None = None
    callbackRequired: bool | None = None
    promisedDate: str | None = None
    selfEvaluation: float | None = None
    followUpAction: str | None = None
    ticketRaised: bool | None = None
    quality_score: float | None = None


class NaiveSideData(BaseModel):
    """The `data` fields of the other five sources that the built-ins read."""

    model_config = ConfigDict(extra="ignore")
    outcome: str | None = None
    emotion: str | None = None
    intensity: float | None = None
    status: str | None = None
    latency_ms: float | None = None
    score: float | None = None
    passed: bool | None = None


class NaiveEnvelope(BaseModel):
    model_config = ConfigDict(extra="ignore")
    event_id: str
    source: str
    event_type: str
    workspace_id: str
    occurred_at: datetime
    session_id: str | None = None
    service_id: str | None = None
    channel: str
    direction: str | None = None
    is_simulation: bool = False


class NaiveCallEvent(NaiveEnvelope):
    data: NaiveCallData


class NaiveSideEvent(NaiveEnvelope):
    data: NaiveSideData


def _duration(d: NaiveCallData) -> float | None:
    if d.duration is not None:
        try:
            return float(d.duration)
        except ValueError:
            pass
    if d.startTime and d.endTime:
        try:
            start = datetime.fromisoformat(d.startTime.replace("Z", "+00:00"))
            end = datetime.fromisoformat(d.endTime.replace("Z", "+00:00"))
        except ValueError:
            return None
        return float(int(end.timestamp()) - int(start.timestamp()))
    return None


def _escalated(d: NaiveCallData) -> bool:
    return "escalated" in (d.status or "", d.callStatus or "")


# key → (type, aggregation, source, event_type or None, scope, (min, max), value of a row). Mirrors the 42
# built-ins; `ratio` is computed from the aggregates afterwards.
Spec = tuple[str, str, str, str | None, str, tuple[float | None, float | None], Callable[[Any], Any]]
_CI, _ROW = "call_intelligence", "call_intelligence.row"
_ANY: tuple[float | None, float | None] = (None, None)
_DUR: tuple[float | None, float | None] = (0, 86400)
NAIVE_METRICS: dict[str, Spec] = {
    "call_volume": ("numerical", "count", _CI, _ROW, "all", _ANY, lambda e: 1),
    "inbound_volume": ("numerical", "count", _CI, _ROW, "inbound", _ANY, lambda e: 1),
    "outbound_volume": ("numerical", "count", _CI, _ROW, "outbound", _ANY, lambda e: 1),
    "voice_volume": ("numerical", "count", _CI, _ROW, "voice", _ANY, lambda e: 1),
    "text_volume": ("numerical", "count", _CI, _ROW, "text", _ANY, lambda e: 1),
    "avg_call_duration": ("numerical", "avg", _CI, _ROW, "all", _DUR, lambda e: _duration(e.data)),
    "total_talk_time": ("numerical", "sum", _CI, _ROW, "all", _DUR, lambda e: _duration(e.data)),
    "max_call_duration": ("numerical", "max", _CI, _ROW, "all", _DUR, lambda e: _duration(e.data)),
    "escalation_rate": (
        "boolean",
        "rate",
        _CI,
        _ROW,
        "all",
        _ANY,
        lambda e: None if e.data.status is None and e.data.callStatus is None else _escalated(e.data),
    ),
    "escalations": ("numerical", "sum", _CI, _ROW, "all", _ANY, lambda e: int(_escalated(e.data))),
    "completed_rate": (
        "boolean",
        "rate",
        _CI,
        _ROW,
        "all",
        _ANY,
        lambda e: None if e.data.status is None else e.data.status == "completed",
    ),
    "abandoned_rate": (
        "boolean",
        "rate",
        _CI,
        _ROW,
        "all",
        _ANY,
        lambda e: None if e.data.status is None else e.data.status == "abandoned",
    ),
    "negative_sentiment_rate": (
        "boolean",
        "rate",
        _CI,
        _ROW,
        "all",
        _ANY,
        lambda e: None if e.data.sentiment is None else e.data.sentiment.lower() == "negative",
    ),
    "quality_score": ("numerical", "avg", _CI, _ROW, "all", (0, 100), lambda e: e.data.quality_score),
    "min_quality_score": ("numerical", "min", _CI, _ROW, "all", (0, 100), lambda e: e.data.quality_score),
    "unique_contacts": ("categorical", "count_distinct", _CI, _ROW, "all", _ANY, lambda e: e.data.contactId),
    "active_agents": ("categorical", "count_distinct", _CI, _ROW, "all", _ANY, lambda e: e.data.agentId),
    "transcript_turns": (
        "numerical",
        "avg",
        _CI,
        _ROW,
        "all",
        _ANY,
        lambda e: None if e.data.transcription is None else len(e.data.transcription),
    ),
    "summary": ("text", "count", _CI, _ROW, "all", _ANY, lambda e: e.data.summary),
    "intent": ("categorical", "count_distinct", _CI, _ROW, "all", _ANY, lambda e: e.data.intent),
    "sentiment": ("categorical", "count", _CI, _ROW, "all", _ANY, lambda e: e.data.sentiment),
    "confidence": ("numerical", "avg", _CI, _ROW, "all", (0, 1), lambda e: e.data.confidence),
    "key_points": ("list", "count", _CI, _ROW, "all", _ANY, lambda e: e.data.keyPoints),
    "action_items": ("list", "count", _CI, _ROW, "all", _ANY, lambda e: e.data.actionItems),
    "call_status": ("categorical", "count_distinct", _CI, _ROW, "all", _ANY, lambda e: e.data.callStatus),
    "callback_required": ("boolean", "rate", _CI, _ROW, "all", _ANY, lambda e: e.data.callbackRequired),
    "promised_date": ("text", "count", _CI, _ROW, "all", _ANY, lambda e: e.data.promisedDate),
    "self_evaluation": ("numerical", "avg", _CI, _ROW, "all", (1, 10), lambda e: e.data.selfEvaluation),
    "follow_up_action": ("text", "count", _CI, _ROW, "all", _ANY, lambda e: e.data.followUpAction),
    "ticket_raised": ("boolean", "rate", _CI, _ROW, "all", _ANY, lambda e: e.data.ticketRaised),
    "world_event_count": ("numerical", "count", "world_events", None, "all", _ANY, lambda e: 1),
    "goals_completed": ("numerical", "count", "world_events", "world_events.goal_completed", "all", _ANY, lambda e: 1),
    "tool_call_failure_rate": (
        "boolean",
        "rate",
        "world_events",
        "world_events.tool_call",
        "all",
        _ANY,
        lambda e: None if e.data.outcome is None else e.data.outcome == "failure",
    ),
    "surface_interactions": ("numerical", "count", "surface_events", None, "all", _ANY, lambda e: 1),
    "surface_error_rate": (
        "boolean",
        "rate",
        "surface_events",
        None,
        "all",
        _ANY,
        lambda e: e.event_type == "surface_events.error",
    ),
    "avg_emotion_intensity": ("numerical", "avg", "emotion_events", None, "all", (0, 1), lambda e: e.data.intensity),
    "frustration_rate": (
        "boolean",
        "rate",
        "emotion_events",
        None,
        "all",
        _ANY,
        lambda e: None if e.data.emotion is None else e.data.emotion.lower() in ("frustration", "anger"),
    ),
    "connector_error_rate": (
        "boolean",
        "rate",
        "connector_events",
        None,
        "all",
        _ANY,
        lambda e: None if e.data.status is None else e.data.status != "success",
    ),
    "avg_connector_latency": (
        "numerical",
        "avg",
        "connector_events",
        None,
        "all",
        (0, None),
        lambda e: e.data.latency_ms,
    ),
    "avg_voice_judge_score": ("numerical", "avg", "voice_judge_results", None, "all", (0, 10), lambda e: e.data.score),
    "voice_judge_pass_rate": ("boolean", "rate", "voice_judge_results", None, "all", _ANY, lambda e: e.data.passed),
}
NAIVE_RATIOS = {"talk_time_per_agent": ("total_talk_time", "active_agents")}
_BY_SOURCE: dict[str, list[tuple[str, Spec]]] = {}
for _key, _spec in NAIVE_METRICS.items():
    _BY_SOURCE.setdefault(_spec[2], []).append((_key, _spec))


def _typed(metric_type: str, raw: Any) -> Any:
    """A raw value as the metric's type; None when missing or invalid (neither is aggregated)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if metric_type == "numerical":
        try:
            value = float(raw)
        except (TypeError, ValueError):
            return None
        return value if math.isfinite(value) else None
    if metric_type in ("categorical", "text"):
        return raw if isinstance(raw, str) else json.dumps(raw)
    if metric_type == "boolean":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, int | float):
            return raw != 0
        text = str(raw).strip().lower()
        return True if text in ("true", "yes", "y", "1") else False if text in ("false", "no", "n", "0") else None
    return raw if isinstance(raw, list) else [raw]  # list


def _values(event: Any, metrics: list[tuple[str, Spec]]) -> list[tuple[str, Any]]:
    out = []
    for key, (metric_type, _agg, _source, event_type, scope, (low, high), read) in metrics:
        if event_type is not None and event.event_type != event_type:
            continue
        if scope != "all" and scope not in (event.channel, event.direction):
            continue
        value = _typed(metric_type, read(event))
        if value is None or (low is not None and value < low) or (high is not None and value > high):
            continue  # only 'ok' values are aggregated
        out.append((key, value))
    return out


def _aggregate(values: list[Any], aggregation: str) -> float:
    if aggregation == "count":
        return float(len(values))
    if aggregation == "sum":
        return math.fsum(values)
    if aggregation == "avg":
        return math.fsum(values) / len(values)
    if aggregation == "min":
        return float(min(values))
    if aggregation == "max":
        return float(max(values))
    if aggregation == "count_distinct":
        return float(len(set(values)))
    return sum(1 for v in values if v) / len(values)  # rate


def _iter_lines(files: list[str], limit: int) -> Iterator[tuple[int, str]]:
    """(file index, line) of the first ``limit`` non-blank lines in file order."""
    taken = 0
    for index, name in enumerate(files):
        with Path(name).open(encoding="utf-8") as handle:
            for line in handle:
                if not line.strip():
                    continue
                if taken >= limit:
                    return
                taken += 1
                yield index, line


def naive_child(payload: dict[str, Any]) -> dict[str, Any]:
    files: list[str] = payload["files"]
    limit: int = payload["sample_lines"]
    models: dict[str, type[NaiveEnvelope]] = dict.fromkeys(_BY_SOURCE, NaiveSideEvent)
    models[_CI] = NaiveCallEvent
    started = time.perf_counter()
    seen: set[str] = set()
    conversations: dict[tuple[str, str], tuple[tuple[Any, ...], str, list[tuple[str, Any]], bool]] = {}
    events: list[tuple[datetime, list[tuple[str, Any]], bool]] = []
    last_file = lines = 0
    for index, line in _iter_lines(files, limit):
        last_file = index
        lines += 1
        raw = json.loads(line)
        event: Any = models[raw["source"]].model_validate(raw)
        if event.event_id in seen:
            continue
        seen.add(event.event_id)
        values = _values(event, _BY_SOURCE[event.source])
        if event.source == _CI and event.event_type == _ROW:
            conversation = (event.workspace_id, str(event.data.id))
            rank = (event.occurred_at, event.data.snapshot_version or -1, event.event_id)
            kept = conversations.get(conversation)
            if kept is None or rank > kept[0]:
                conversations[conversation] = (rank, event.workspace_id, values, event.is_simulation)
        else:
            events.append((event.occurred_at, values, event.is_simulation))
    # Python aggregation: hourly buckets, daily roll-ups, ratios
    hourly: dict[tuple[str, datetime, str], list[Any]] = {}
    for at, values, simulation in [(r[0], v, s) for r, _ws, v, s in conversations.values()] + events:
        hour = at.replace(minute=0, second=0, microsecond=0, tzinfo=None)
        source = "simulation" if simulation else "production"
        for key, value in values:
            hourly.setdefault((key, hour, source), []).append(value)
    results: dict[tuple[str, str, datetime, str], tuple[float | None, int]] = {}
    daily: dict[tuple[str, datetime, str], list[Any]] = {}
    for (key, hour, source), values in hourly.items():
        aggregation = NAIVE_METRICS[key][1]
        results[(key, "hourly", hour, source)] = (round(_aggregate(values, aggregation), 9), len(values))
        daily.setdefault((key, hour.replace(hour=0), source), []).extend(values)
    for (key, day, source), values in daily.items():
        results[(key, "daily", day, source)] = (round(_aggregate(values, NAIVE_METRICS[key][1]), 9), len(values))
    for ratio, (numerator, denominator) in NAIVE_RATIOS.items():
        for (key, granularity, period, source), (value, n) in list(results.items()):
            if key != denominator:
                continue
            top = results.get((numerator, granularity, period, source))
            quotient = None if not value else round((top[0] or 0.0) / value, 9) if top else 0.0
            results[(ratio, granularity, period, source)] = (quotient, n)
    seconds = time.perf_counter() - started
    # files (hours) read to their end: every file before the last one read, and that one too if all was read
    complete = files if lines < limit else files[:last_file]
    return {
        "seconds": round(seconds, 3),
        "lines": lines,
        "complete_files": complete,
        "hourly": [[k, p.isoformat(), s, v, n] for (k, g, p, s), (v, n) in sorted(results.items()) if g == "hourly"],
        "aggregates": len(results),
    }


def _naive_check(pipeline: list[list[Any]], naive: list[list[Any]], hours: set[str]) -> dict[str, Any]:
    """Compare the hourly aggregates of the hours the naive sample read completely."""
    theirs = {(k, p, s): (v, n) for k, p, s, v, n in pipeline if p in hours}
    ours = {(k, p, s): (v, n) for k, p, s, v, n in naive if p in hours}
    mismatched = []
    for key in sorted(set(theirs) | set(ours)):
        a, b = theirs.get(key), ours.get(key)
        same = (
            a is not None
            and b is not None
            and a[1] == b[1]
            and (a[0] == b[0] or (a[0] is not None and b[0] is not None and math.isclose(a[0], b[0], rel_tol=1e-9)))
        )
        if not same:
            mismatched.append([*key, a, b])
    return {"hours": sorted(hours), "compared": len(set(theirs) | set(ours)), "mismatched": mismatched[:10]}


# ---------------------------------------------------------------------------------------------------------------
# profiles: pyinstrument and EXPLAIN ANALYZE


def profile_child(payload: dict[str, Any]) -> dict[str, Any]:
    try:
        from pyinstrument import Profiler
    except ImportError:
        return {"error": "pyinstrument is not installed (pip install pyinstrument)"}
    conn, catalog, landing, start, end = _setup(payload)
    profiler = Profiler(interval=0.001)
    profiler.start()
    stages = _stages(conn, catalog, landing, start, end)
    session = profiler.stop()
    root = session.root_frame()
    totals: dict[str, float] = {}
    selfs: dict[str, float] = {}

    def name(frame: Any) -> str:
        function = str(frame.function)
        if "pybind11" in function:  # DuckDB's C++ methods show as pybind11_..._record.execute
            function = "DuckDBPyConnection." + function.rsplit(".", 1)[-1]
        return f"{function} ({frame.file_path_short}:{frame.line_no})"

    def walk(frame: Any, inside: bool, open_ids: frozenset[str]) -> None:
        ident = name(frame)
        ours = str(frame.file_path_short or "").startswith("bench")  # this benchmark's own wrappers
        if inside and not frame.is_synthetic and not ours:
            if ident not in open_ids:  # recursion counts once
                totals[ident] = totals.get(ident, 0.0) + frame.time
            open_ids = open_ids | {ident}
        if inside and frame.is_synthetic and frame.function == "[self]" and frame.parent is not None:
            selfs[name(frame.parent)] = selfs.get(name(frame.parent), 0.0) + frame.time
        for child in frame.children:
            walk(child, inside or frame.function == "_stages", open_ids)

    walk(root, False, frozenset())
    whole = sum(s["seconds"] for s in stages.values())
    top = sorted(totals.items(), key=lambda kv: -kv[1])[:10]
    top_self = sorted(selfs.items(), key=lambda kv: -kv[1])[:5]
    return {
        "events": payload["events"],
        "stages_seconds": {k: v["seconds"] for k, v in stages.items()},
        "top_cumulative": [{"frame": f, "seconds": round(t, 3), "share": round(t / whole, 3)} for f, t in top],
        "top_self": [{"frame": f, "seconds": round(t, 3), "share": round(t / whole, 3)} for f, t in top_self],
    }


def _statement_labels() -> list[tuple[str, str]]:
    """(normalized opening, 'sql/<file> #n') for every statement of every SQL file (templates up to '{')."""
    from metricstore.warehouse import SQL_DIR, split_statements

    labels = []
    for path in sorted(SQL_DIR.rglob("*.sql")):
        for n, statement in enumerate(split_statements(path.read_text(encoding="utf-8")), start=1):
            opening = " ".join(statement.split("{", 1)[0].split())[:80]
            labels.append((opening, f"sql/{path.relative_to(SQL_DIR)} #{n}"))
    return labels


class _ExplainingConnection:
    """Stands in for the DuckDB connection: every data-changing statement runs as ``EXPLAIN (ANALYZE, FORMAT
    JSON)`` (which executes it, side effects included) and its profile is kept; the rest passes through."""

    PROFILED = ("CREATE OR REPLACE TEMP TABLE", "CREATE OR REPLACE TABLE", "INSERT", "DELETE")

    def __init__(
        self, conn: Any, labels: list[tuple[str, str]] | None = None, profiles: list[dict[str, Any]] | None = None
    ) -> None:
        self._conn = conn
        self._labels = labels if labels is not None else _statement_labels()
        self.stage = ""
        self.profiles: list[dict[str, Any]] = profiles if profiles is not None else []

    def execute(self, sql: str, params: Any = None) -> Any:
        text = " ".join(sql.split())
        if not text.upper().startswith(self.PROFILED):
            return self._conn.execute(sql, params) if params is not None else self._conn.execute(sql)
        explain = "EXPLAIN (ANALYZE, FORMAT JSON) " + sql
        started = time.perf_counter()
        rows = (self._conn.execute(explain, params) if params is not None else self._conn.execute(explain)).fetchall()
        seconds = time.perf_counter() - started
        label = next((name for opening, name in self._labels if opening and text.startswith(opening)), None)
        operators: list[dict[str, Any]] = []

        def walk(node: dict[str, Any]) -> None:
            if node.get("operator_type") not in (None, "EXPLAIN_ANALYZE"):
                info = node.get("extra_info") or {}
                operators.append(
                    {
                        "operator": node.get("operator_name", "").strip(),
                        "seconds": round(float(node.get("operator_timing") or 0.0), 3),
                        "rows": node.get("operator_cardinality"),
                        "info": json.dumps(info, separators=(",", ":"))[:200] if info else "",
                    }
                )
            for child in node.get("children", []):
                walk(child)

        plan = json.loads(rows[0][1])
        walk(plan)
        summed = sum(o["seconds"] for o in operators) or 1.0
        top = sorted(operators, key=lambda o: -o["seconds"])[:4]
        for o in top:
            o["share"] = round(o["seconds"] / summed, 3)
        self.profiles.append(
            {
                "stage": self.stage,
                "statement": label or "(python) " + text[:60],
                "seconds": round(seconds, 3),
                "operator_seconds": round(summed, 3),
                "top_operators": top,
            }
        )
        return self._conn

    def cursor(self) -> _ExplainingConnection:
        """A cursor whose statements are profiled into the same list (ingestion parses groups on cursors)."""
        proxy = _ExplainingConnection(self._conn.cursor(), self._labels, self.profiles)
        proxy.stage = self.stage
        return proxy

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


def explain_child(payload: dict[str, Any]) -> dict[str, Any]:
    conn, catalog, landing, start, end = _setup(payload)
    proxy = _ExplainingConnection(conn)
    stages = _stages(proxy, catalog, landing, start, end)
    profiles = sorted(proxy.profiles, key=lambda p: -p["seconds"])
    return {
        "events": payload["events"],
        "stages_seconds": {k: v["seconds"] for k, v in stages.items()},
        "statements": profiles[:8],
        "statements_profiled": len(profiles),
    }


def _findings(explain: dict[str, Any], profile: dict[str, Any]) -> list[str]:
    """One line per heavy statement: its share of the profiled statement time and its top operators."""
    lines = []
    whole = sum(explain["stages_seconds"].values()) or 1.0
    for p in explain["statements"][:6]:
        ops = ", ".join(f"{o['operator']} {o['share']:.0%}" for o in p["top_operators"][:3])
        lines.append(f"{p['stage']}: {p['statement']} {p['seconds']:.2f} s ({p['seconds'] / whole:.0%}): {ops}")
    if profile.get("top_self"):
        top = profile["top_self"][0]
        lines.append(f"pyinstrument: {top['share']:.0%} of the stages' wall time is inside {top['frame']}")
    return lines


# ---------------------------------------------------------------------------------------------------------------
# the benchmark


def _hour_of(file: str) -> datetime:
    """The hour of a landing file ``<source>/YYYY/MM/DD/HH.jsonl``."""
    year, month, day, hour = Path(file).parts[-4:]
    return datetime(int(year), int(month), int(day), int(hour.split(".")[0]))


def _landing_files(landing: Path) -> list[str]:
    return sorted(str(p) for p in landing.rglob("*.jsonl"))


def run(quick: bool) -> dict[str, Any]:
    events = QUICK_EVENTS if quick else DEFAULT_EVENTS
    per_hour = math.ceil(events / HOURS)
    with tempfile.TemporaryDirectory(prefix="metricstore-bench-static-") as folder:
        tmp = Path(folder)
        started = time.perf_counter()
        generated = generate_landing(
            tmp / "landing", conversations_per_hour=per_hour, hours=HOURS, end=END, side_events=0
        )
        generate_seconds = time.perf_counter() - started
        defs = builtin_defs(tmp)
        files = _landing_files(tmp / "landing")
        base = {
            "landing": str(tmp / "landing"),
            "metric_defs": str(defs),
            "start": generated.start.isoformat(),
            "end": generated.end.isoformat(),
            "events": generated.events,
        }
        floor_before = run_in_child("bench.static_path:floor_child", {"files": files})
        pipeline = run_in_child("bench.static_path:pipeline_child", {**base, "warehouse": str(tmp / "wh.duckdb")})
        floor_after = run_in_child("bench.static_path:floor_child", {"files": files})
        sample = max(1, round(generated.events * NAIVE_SAMPLE))
        naive = run_in_child("bench.static_path:naive_child", {"files": files, "sample_lines": sample})
        for leftover in tmp.glob("wh.duckdb*"):
            leftover.unlink()
        # profiles at the quick size (on a landing of its own when the run is bigger)
        profile_base = base
        if generated.events > PROFILE_EVENTS * 1.1:
            small = generate_landing(
                tmp / "profile_landing",
                conversations_per_hour=math.ceil(PROFILE_EVENTS / HOURS),
                hours=HOURS,
                end=END,
                side_events=0,
            )
            profile_base = {**base, "landing": str(tmp / "profile_landing"), "events": small.events}
        profile = run_in_child("bench.static_path:profile_child", {**profile_base, "warehouse": str(tmp / "p.duckdb")})
        explain = run_in_child("bench.static_path:explain_child", {**profile_base, "warehouse": str(tmp / "e.duckdb")})

    total = pipeline["total_seconds"]
    # resetting VmHWM between stages also resets what ru_maxrss reports afterwards: the peak is the larger of both
    peak = max([pipeline["peak_rss_bytes"], *(s.get("peak_rss_bytes") or 0 for s in pipeline["stages"].values())])
    floor = min(floor_before["seconds"], floor_after["seconds"])
    naive_scaled = naive["seconds"] * generated.events / naive["lines"]
    hours_read = {_hour_of(f).isoformat() for f in naive["complete_files"]}
    result: dict[str, Any] = {
        "events": generated.events,
        "conversations": generated.conversations,
        "layout": f"{HOURS} hourly files × {per_hour} call_intelligence events (side_events=0), one day, one window",
        "landing_bytes": generated.bytes_written,
        "generate_seconds": round(generate_seconds, 2),
        "setup_seconds": pipeline["setup_seconds"],
        "stages": pipeline["stages"],
        "total_seconds": total,
        "events_per_second": round(generated.events / total, 1),
        "landing_mib_per_second": round(generated.bytes_written / total / 1024**2, 1),
        "peak_rss_bytes": peak,
        "peak_rss_gib": round(peak / GIB, 2),
        "peak_rss_note": "max of each stage's VmHWM (reset between stages) and the child's ru_maxrss at its end",
        "child_ru_maxrss_bytes": pipeline["peak_rss_bytes"],
        "parent_rusage_children_bytes_after_pipeline": pipeline["parent_rusage_children_bytes"],
        "pipeline_cpu_seconds": pipeline["child_cpu_seconds"],
        "cpus": os.cpu_count(),
        "load_average": {
            "floor_before": floor_before["load_average"],
            "pipeline": pipeline["load_average"],
            "floor_after": floor_after["load_average"],
            "naive": naive["load_average"],
        },
        "rows_written": pipeline["rows"],
        "misnumbered_lines": pipeline["misnumbered_lines"],
        "warehouse_bytes": pipeline["warehouse_bytes"],
        "floor": {
            "query": "SELECT count(*) FROM read_json(files, format='newline_delimited')",
            "seconds_before_pipeline": floor_before["seconds"],
            "seconds_after_pipeline": floor_after["seconds"],
            "seconds": floor,
            "rows": floor_before["rows"],
            "peak_rss_bytes": max(floor_before["peak_rss_bytes"], floor_after["peak_rss_bytes"]),
        },
        "ratio_vs_floor": round(total / floor, 2),
        "naive": {
            "sample_fraction": NAIVE_SAMPLE,
            "lines_measured": naive["lines"],
            "seconds_measured": naive["seconds"],
            "seconds_scaled_to_all": round(naive_scaled, 2),
            "scaled": "linearly: seconds_measured × events / lines_measured (the first lines in file order)",
            "peak_rss_bytes": naive["peak_rss_bytes"],
            "check": _naive_check(pipeline["check"], naive["hourly"], hours_read),
        },
        "speedup_vs_naive": round(naive_scaled / total, 2),
        # how much faster than the naive loop the floor itself is: the most any implementation that reads the
        # JSON could reach
        "floor_speedup_vs_naive": round(naive_scaled / floor, 2),
        "profile": profile,
        "explain_analyze": explain,
        "findings": _findings(explain, profile),
        "targets": {
            "ratio_vs_floor_max": TARGET_FLOOR_RATIO,
            "speedup_vs_naive_min": TARGET_NAIVE_SPEEDUP,
            "peak_rss_bytes_max": TARGET_PEAK_BYTES,
        },
    }
    result["met"] = {
        "floor": result["ratio_vs_floor"] <= TARGET_FLOOR_RATIO,
        "naive": result["speedup_vs_naive"] >= TARGET_NAIVE_SPEEDUP,
        "memory": result["peak_rss_bytes"] <= TARGET_PEAK_BYTES,
    }
    return result


def _yes(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def summary(result: dict[str, Any]) -> str:
    s = result["stages"]
    mib = result["landing_bytes"] / 1024**2
    lines = [
        f"{result['events']:,} call_intelligence events ({result['layout']}), {mib:,.0f} MiB of JSONL.",
        "",
        "| figure | value |",
        "|---|---|",
        *(
            f"| {name} | {s[name]['seconds']:.2f} s (peak RSS {s[name]['peak_rss_bytes'] / GIB:.2f} GiB) |"
            if s[name].get("peak_rss_bytes")
            else f"| {name} | {s[name]['seconds']:.2f} s |"
            for name in ("ingest", "extract", "aggregate")
        ),
        f"| total | {result['total_seconds']:.2f} s |",
        f"| events/s | {result['events_per_second']:,.0f} ({result['landing_mib_per_second']} MiB/s) |",
        f"| peak RSS | {result['peak_rss_gib']:.2f} GiB |",
        f"| rows written | {result['rows_written']['raw.events']:,} events, "
        f"{result['rows_written']['metrics.metric_values']:,} values, "
        f"{result['rows_written']['metrics.metric_aggregates']:,} aggregates |",
        f"| warehouse file | {result['warehouse_bytes'] / 1024**2:,.0f} MiB |",
        f"| floor (read_json count) | {result['floor']['seconds']:.2f} s |",
        f"| naive Python (scaled from {result['naive']['sample_fraction']:.0%}) | "
        f"{result['naive']['seconds_scaled_to_all']:.1f} s |",
        f"| ratio vs floor | {result['ratio_vs_floor']}× |",
        f"| speed-up vs naive | {result['speedup_vs_naive']}× |",
        "",
        f"- total ≤ {TARGET_FLOOR_RATIO:g}× the floor: {_yes(result['met']['floor'])} ({result['ratio_vs_floor']}×)",
        f"- ≥ {TARGET_NAIVE_SPEEDUP:g}× faster than naive Python: {_yes(result['met']['naive'])} "
        f"({result['speedup_vs_naive']}×; the floor itself is {result.get('floor_speedup_vs_naive', '?')}× "
        "faster than naive)",
        f"- peak RSS ≤ 4 GiB: {_yes(result['met']['memory'])} ({result['peak_rss_gib']:.2f} GiB)",
    ]
    if "load_average" in result:
        load = result["load_average"]["pipeline"]
        lines.append(
            f"- machine: 1-minute load average {load[0]} → {load[1]} around the pipeline ({result['cpus']} CPUs; "
            f"more than that means other work shared them), pipeline CPU {result['pipeline_cpu_seconds']} s"
        )
    check = result["naive"]["check"]
    lines.append(
        f"- naive cross-check: {check['compared']} hourly aggregates compared, {len(check['mismatched'])} differ"
    )
    if "misnumbered_lines" in result:
        lines.append(
            f"- line numbers: {result['misnumbered_lines']:,} of {result['rows_written']['raw.events']:,} events "
            "carry a line other than the one the generator wrote them on"
        )
    if result.get("findings"):
        lines += ["", "Profile (quick size):", "", *(f"- {line}" for line in result["findings"])]
    return "\n".join(lines)
