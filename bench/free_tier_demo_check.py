"""The demo's free-tier AI metrics beside the snapshots' own fields (python -m bench.free_tier_demo_check WAREHOUSE).

Run ``metricstore demo`` first (``--hours 8`` is enough), then point this at its published warehouse. It prints:
``promised_callback_date`` found-rate and agreement with the snapshots' ``promisedDate``; ``customer_mood`` by
the snapshots' ``sentiment``; ``contact_reason``'s answers and its not-applicable share."""

from __future__ import annotations

import sys
from typing import Any

import duckdb

LATEST = """CREATE TEMP TABLE snap AS
SELECT conversation_id, arg_max(data, snapshot_version) AS data FROM raw.conversations GROUP BY 1"""
PROMISED = """SELECT count(*) AS conversations,
  count(*) FILTER (WHERE (s.data->>'promisedDate') IS NOT NULL) AS with_promised_date,
  count(*) FILTER (WHERE v.status = 'ok') AS found,
  count(*) FILTER (WHERE v.status = 'ok' AND v.value_text = (s.data->>'promisedDate')) AS found_and_equal,
  count(*) FILTER (WHERE v.status = 'ok' AND (s.data->>'promisedDate') IS NULL) AS found_without_promise
FROM metrics.metric_values v JOIN snap s ON s.conversation_id = v.entity_id
WHERE v.metric_key = 'promised_callback_date'"""
MOOD = """SELECT (s.data->>'sentiment') AS snapshot, coalesce(v.value_text, v.status) AS answer, count(*) AS n
FROM metrics.metric_values v JOIN snap s ON s.conversation_id = v.entity_id
WHERE v.metric_key = 'customer_mood' GROUP BY ALL ORDER BY ALL"""
REASON = """SELECT coalesce(value_text, status) AS answer, count(*) AS n,
  round(count(*) / sum(count(*)) OVER (), 3) AS share
FROM metrics.metric_values WHERE metric_key = 'contact_reason' GROUP BY ALL ORDER BY n DESC"""


def check(warehouse: str) -> dict[str, Any]:
    conn = duckdb.connect(warehouse, read_only=True)
    conn.execute(LATEST)
    promised = conn.sql(PROMISED)
    row = promised.fetchone() or ()
    return {
        "promised_callback_date": dict(zip(promised.columns, row, strict=True)),
        "customer_mood": [dict(zip(("snapshot", "answer", "n"), r, strict=True)) for r in conn.sql(MOOD).fetchall()],
        "contact_reason": [dict(zip(("answer", "n", "share"), r, strict=True)) for r in conn.sql(REASON).fetchall()],
    }


if __name__ == "__main__":
    import json

    print(json.dumps(check(sys.argv[1]), indent=2, default=str))
