"""The DuckDB warehouse: connections, the schema and the SQL files that run against it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
from jinja2 import Environment, FileSystemLoader, StrictUndefined

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"

# SQL templates render code (identifiers, allow-listed expressions), never values: values are bound parameters.
# A file may include another (`{% include "windows/current_snapshots.sql" %}`) where two queries share a rule.
_SQL_TEMPLATES = Environment(
    loader=FileSystemLoader(SQL_DIR), undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True
)


@cache
def sql_text(name: str) -> str:
    """The text of ``sql/<name>``."""
    return (SQL_DIR / name).read_text(encoding="utf-8")


def render_sql(name: str, **code: Any) -> str:
    """Render ``sql/<name>`` as a Jinja template with allow-listed code fragments (and the files it includes)."""
    return _SQL_TEMPLATES.get_template(name).render(**code)


def connect(path: Path | str, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse (creating folder and schema when writable), in UTC."""
    if read_only:
        conn = duckdb.connect(str(path), read_only=True)
        conn.execute("SET TimeZone = 'UTC'")
        return conn
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = duckdb.connect(str(path))
    prepare(conn)
    return conn


DEFAULT_MEMORY_LIMIT = "3GB"


def prepare(conn: duckdb.DuckDBPyConnection) -> None:
    """Set the session up for metricstore's SQL and create the schema if it is missing (idempotent).

    DuckDB's memory is capped by ``$METRICSTORE_DUCKDB_MEMORY_LIMIT`` (default 3GB; DuckDB's own default is
    80 % of the machine): past it, large statements spill to ``<warehouse>.tmp`` instead of growing."""
    conn.execute("SET TimeZone = 'UTC'")
    conn.execute("SET memory_limit = ?", [os.environ.get("METRICSTORE_DUCKDB_MEMORY_LIMIT", DEFAULT_MEMORY_LIMIT)])
    run_script(conn, "schema.sql")
    _enum_columns(conn)
    _enum_values(conn)


# metrics.metric_values columns typed by the ENUMs of schema.sql
ENUM_COLUMNS = {
    "metric_type": "metric_type_t",
    "entity_type": "entity_type_t",
    "channel": "channel_t",
    "direction": "direction_t",
    "source": "value_source_t",
    "status": "value_status_t",
}


def _enum_columns(conn: duckdb.DuckDBPyConnection) -> None:
    """A warehouse made before those columns were ENUMs: convert them (once; each ALTER rewrites the column)."""
    still_text = conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'metrics' "
        "AND table_name = 'metric_values' AND data_type = 'VARCHAR' AND list_contains(?, column_name)",
        [list(ENUM_COLUMNS)],
    ).fetchall()
    for (column,) in still_text:
        conn.execute(f"ALTER TABLE metrics.metric_values ALTER COLUMN {column} TYPE {ENUM_COLUMNS[column]}")


# values added to an ENUM of schema.sql after warehouses were made with it: (type, the value added)
ADDED_ENUM_VALUES = (("value_status_t", "low_confidence"),)


def _enum_values(conn: duckdb.DuckDBPyConnection) -> None:
    """A warehouse whose ENUM lacks a value added since (DuckDB cannot add one in place): the column goes through
    VARCHAR while the type is made again from schema.sql's definition (once; it rewrites the column)."""
    for type_name, value in ADDED_ENUM_VALUES:
        have = conn.execute(f"SELECT enum_range(NULL::{type_name})").fetchone()
        if have is None or value in have[0]:
            continue
        columns = [c for c, t in ENUM_COLUMNS.items() if t == type_name]
        for column in columns:
            conn.execute(f"ALTER TABLE metrics.metric_values ALTER COLUMN {column} TYPE VARCHAR")
        conn.execute(f"DROP TYPE {type_name}")
        run_script(conn, "schema.sql")  # CREATE TYPE IF NOT EXISTS makes it with today's values
        for column in columns:
            conn.execute(f"ALTER TABLE metrics.metric_values ALTER COLUMN {column} TYPE {type_name}")


def run_script(conn: duckdb.DuckDBPyConnection, name: str, params: dict[str, Any] | None = None, **code: Any) -> None:
    """Run every statement of ``sql/<name>`` in order, binding the named parameters each one uses."""
    text = render_sql(name, **code)
    for statement in split_statements(text):
        used = {k: v for k, v in (params or {}).items() if f"${k}" in statement}
        conn.execute(statement, used)


@contextmanager
def transaction(conn: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One transaction: committed when the block ends, rolled back when it raises (or is interrupted)."""
    conn.execute("BEGIN TRANSACTION")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def split_statements(text: str) -> list[str]:
    """Split a SQL script on the semicolons that end statements (our files never put ';' in literals)."""
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    return [s.strip() for s in body.split(";") if s.strip()]


def register_frame(conn: duckdb.DuckDBPyConnection, name: str, frame: Any) -> None:
    """Copy a Polars/Arrow frame into the temp table ``name`` (an allow-listed identifier, not a value)."""
    conn.register(f"{name}_frame", frame)
    conn.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name}_frame")  # noqa: S608
    conn.unregister(f"{name}_frame")


def scalar(conn: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> Any:
    """The single value a query returns (the result is read to the end, so the connection is free again)."""
    rows = conn.execute(sql, params).fetchall() if params is not None else conn.execute(sql).fetchall()
    return rows[0][0] if rows else None


@contextmanager
def unordered(conn: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Let DuckDB drop insertion order (faster parallel inserts and less memory) for statements whose results
    are keyed, not ordered; ingestion keeps it, because a file's line numbers come from its row order."""
    conn.execute("SET preserve_insertion_order = false")
    try:
        yield
    finally:
        conn.execute("RESET preserve_insertion_order")
