"""The catalog: the warehouse table and the generated docs page stay in step with the definitions."""

from __future__ import annotations

import duckdb

from metricstore.catalog import catalog_markdown, write_catalog_table
from metricstore.catalog_loader import MetricCatalog
from tests.conftest import REPO


def test_docs_catalog_page_is_current(repo_catalog: MetricCatalog) -> None:
    page = (REPO / "docs" / "catalog.md").read_text(encoding="utf-8")
    assert page == catalog_markdown(repo_catalog), "run `make docs` to regenerate docs/catalog.md"


def test_catalog_table_holds_every_definition(conn: duckdb.DuckDBPyConnection, repo_catalog: MetricCatalog) -> None:
    assert write_catalog_table(conn, repo_catalog) == 50
    write_catalog_table(conn, repo_catalog)  # replaces, never appends
    rows = conn.execute(
        "SELECT builtin, workspace_id, count(*) FROM metrics.metric_catalog GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    assert rows == [(False, "ws_demo", 8), (True, None, 42)]
    version, definition = conn.execute(
        "SELECT definition_version, definition ->> '$.extract_path' FROM metrics.metric_catalog "
        "WHERE metric_key = 'quality_score'"
    ).fetchone() or (None, None)
    expected = next(d.definition for d in repo_catalog.builtins if d.definition.key == "quality_score")
    assert version == expected.definition_version
    assert definition == "$.quality_score"
