"""`metricstore query …` and `metricstore evaluate` through click, on a published warehouse built in tmp_path."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from metricstore.cli import main
from metricstore.config import Settings
from metricstore.extract import extract_window
from metricstore.ingest import ingest_window
from metricstore.post_call import post_call_record
from metricstore.published import open_published
from metricstore.query import latest, values
from metricstore.warehouse import connect
from tests.conftest import write_landing
from tests.test_post_call import H10, snapshots, version
from tests.test_query import WS, add_value, fill, make_catalog


@pytest.fixture
def published(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A warehouse file with known aggregates, values and conversations, named as the published one."""
    defs, landing, path = tmp_path / "defs", tmp_path / "landing", tmp_path / "published" / "warehouse.duckdb"
    catalog = make_catalog(defs)
    write_landing(landing, "call_intelligence/h10.jsonl", snapshots())
    with connect(path) as conn:
        ingest_window(conn, landing, H10)
        extract_window(conn, catalog, H10)
        fill(conn, catalog)  # after extraction: its aggregates are the ones the tests know
        add_value(
            conn, "escalated", "boolean", "call-1", "2026-11-20 10:20", flag=True, version=version(catalog, "escalated")
        )
    monkeypatch.setenv("METRICSTORE_METRIC_DEFS", str(defs))
    monkeypatch.setenv("METRICSTORE_WAREHOUSE", str(tmp_path / "missing" / "warehouse.duckdb"))  # never read
    monkeypatch.setenv("METRICSTORE_PUBLISHED", str(path))
    return path


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def test_json_is_the_document_the_query_function_returns(published: Path) -> None:
    settings = Settings.from_env()
    catalog = make_catalog(published.parent.parent / "defs2")
    with open_published(settings) as conn:
        expected_latest = latest(conn, catalog, WS, scope="all").model_dump_json(indent=2)
        expected_values = values(conn, catalog, WS, "confidence", date_from=date(2026, 11, 20), limit=2)
        expected_call = post_call_record(conn, catalog, WS, agent_id="agent-1")
    result = invoke("query", "latest", "--workspace", WS, "--scope", "all", "--json")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == expected_latest
    result = invoke(
        "query", "values", "confidence", "--workspace", WS, "--date-from", "2026-11-20", "--limit", "2", "--json"
    )
    assert json.loads(result.stdout) == expected_values.model_dump(mode="json")
    assert [p["value"] for p in json.loads(result.stdout)["points"]] == [0.5, 0.4]
    result = invoke("query", "call", "--workspace", WS, "--agent-id", "agent-1", "--json")
    assert json.loads(result.stdout) == expected_call.model_dump(mode="json")
    assert json.loads(result.stdout)["callData"]["id"] == "call-3"


def test_tables(published: Path) -> None:
    result = invoke("query", "latest", "--workspace", WS)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["metric", "source", "granularity", "period", "start", "value", "samples", "unit"]
    assert lines[2].split() == ["confidence", "production", "hourly", "2026-11-22", "00:00", "0.5", "5", "–"]
    entity = invoke("query", "latest", "--workspace", WS, "--scope", "entity", "--entity-id", "call-1").stdout
    assert any(line.split()[:3] == ["conversation:call-1", "escalated", "true"] for line in entity.splitlines())
    trend = invoke("query", "trend", "csat", "--workspace", WS, "--days", "5").stdout.splitlines()
    assert trend[0] == "csat (CSAT), daily avg, production: 2026-11-18 .. 2026-11-22"
    assert [line.split() for line in trend[3:8]] == [
        ["2026-11-18", "3", "4"],
        ["2026-11-19", "–", "0"],
        ["2026-11-20", "4.5", "2"],
        ["2026-11-21", "–", "0"],
        ["2026-11-22", "–", "0"],
    ]
    assert trend[-1] == "up: 3 on 2026-11-18 -> 4.5 on 2026-11-20 (+50.0 %)"
    catalog = invoke("query", "catalog", "--workspace", WS).stdout
    assert any(line.split()[:3] == ["csat", "custom", "numerical"] for line in catalog.splitlines())
    assert any(line.split()[:2] == ["retired", "(inactive)"] for line in catalog.splitlines())
    call = invoke("query", "call", "--workspace", WS, "--call-id", "call-1").stdout
    assert "contactId          contact-7" in call and "transcription      2 turns" in call
    assert any(line.split() == ["escalated", "boolean", "no", "true"] for line in call.splitlines())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["query", "values", "nope", "--workspace", WS], "error: no metric 'nope' in workspace ws_test"),
        (["query", "trend", "other_only", "--workspace", WS], "error: no metric 'other_only' in workspace ws_test"),
        (
            ["query", "values", "csat", "--workspace", WS, "--limit", "0"],
            "error: limit must be an integer from 1 to 365",
        ),
        (
            ["query", "trend", "csat", "--workspace", WS, "--days", "366"],
            "error: days must be an integer from 1 to 365",
        ),
        (
            ["query", "values", "csat", "--workspace", WS, "--date-from", "2026-11-22", "--date-to", "2026-11-21"],
            "error: date_from 2026-11-22 is after date_to 2026-11-21",
        ),
        (["query", "call", "--workspace", WS, "--call-id", "nope"], "error: no conversation with call_id=nope"),
    ],
)
def test_errors_are_one_line_and_exit_2(published: Path, args: list[str], message: str) -> None:
    result = invoke(*args)
    assert result.exit_code == 2
    assert result.stdout == "" and len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(message)


def test_usage_errors_exit_2(published: Path) -> None:
    assert invoke("query", "call", "--workspace", WS).exit_code == 2
    assert invoke("query", "latest", "--workspace", WS, "--scope", "everything").exit_code == 2
    assert invoke("query", "latest").exit_code == 2  # --workspace is required


def test_nothing_published_yet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_catalog(tmp_path / "defs")
    monkeypatch.setenv("METRICSTORE_METRIC_DEFS", str(tmp_path / "defs"))
    monkeypatch.setenv("METRICSTORE_PUBLISHED", str(tmp_path / "nothing.duckdb"))
    for args in (
        ["query", "latest", "--workspace", WS],
        ["query", "catalog", "--workspace", WS],
        ["evaluate", "topics", "--subject", "call-1", "--workspace", WS],
    ):
        result = invoke(*args)
        assert result.exit_code == 2, args
        assert result.stderr.startswith("error: nothing published at") and len(result.stderr.splitlines()) == 1


def test_evaluate_reads_the_published_conversations(published: Path) -> None:
    """`topics` is a free-tier ai_classify metric: the local evaluator answers it, from the published snapshot."""
    result = invoke("evaluate", "topics", "--subject", "call-1", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["status"] in ("ok", "not_applicable")
    unknown = invoke("evaluate", "topics", "--subject", "call-404", "--workspace", WS)
    assert unknown.exit_code == 2 and "no conversation 'call-404'" in unknown.stderr
