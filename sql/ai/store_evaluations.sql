-- Store an AI run's results (temp tables ai_values, ai_cache, ai_calls, ai_spent). A value replaces the row of the same
-- metric, entity and definition version. An entity counts at its latest value only (aggregates/recompute.sql), so
-- the hours of the entity's values stored before (any version: one of them counted) and the hours of the new ones
-- are marked stale for the aggregates. A call is stored once: a journal replay (metricstore.evaluation.journal) may
-- bring a call the fan-out already stored.
CREATE OR REPLACE TEMP TABLE held_values AS
SELECT v.rowid AS value_rowid, v.workspace_id, v.metric_key, v.entity_type, v.entity_id, v.definition_version,
       v.occurred_at
FROM metrics.metric_values v
SEMI JOIN ai_values n
    ON v.workspace_id = n.workspace_id AND v.metric_key = n.metric_key AND v.entity_type = n.entity_type
   AND v.entity_id = n.entity_id;

INSERT INTO ops.stale_periods
SELECT DISTINCT workspace_id, date_trunc('hour', occurred_at) FROM held_values;

DELETE FROM metrics.metric_values
WHERE rowid IN (
    SELECT h.value_rowid FROM held_values h
    SEMI JOIN ai_values n
        ON h.workspace_id = n.workspace_id AND h.metric_key = n.metric_key AND h.entity_type = n.entity_type
       AND h.entity_id = n.entity_id AND h.definition_version = n.definition_version
);

DROP TABLE held_values;

INSERT INTO metrics.metric_values BY NAME SELECT * FROM ai_values;

INSERT INTO ops.stale_periods
SELECT DISTINCT workspace_id, date_trunc('hour', occurred_at) FROM ai_values;

INSERT OR REPLACE INTO ops.llm_cache BY NAME SELECT * FROM ai_cache;

INSERT INTO ops.llm_calls BY NAME
SELECT * FROM ai_calls n
WHERE NOT EXISTS (SELECT 1 FROM ops.llm_calls c WHERE c.call_id = n.call_id);

INSERT INTO ops.ai_spend BY NAME SELECT * FROM ai_spent
ON CONFLICT (workspace_id, metric_key, hour) DO UPDATE SET evaluations = ops.ai_spend.evaluations + excluded.evaluations;
