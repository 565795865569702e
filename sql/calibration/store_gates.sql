-- The calibration gate's state of this run (gate_now) replaces the last one. A version whose state changed (a
-- version without a row is live) has every hour it holds values in marked stale, so the aggregate step
-- recomputes those hours with it (newly live) or without it (held back); and so has every hour of the other
-- versions' values of the entities it holds values for: an entity counts at its latest countable value
-- (aggregates/recompute.sql), which the change may move to another version in another hour.
CREATE OR REPLACE TEMP TABLE gate_changed AS
SELECT workspace_id, metric_key, definition_version
FROM (
    SELECT n.workspace_id, n.metric_key, n.definition_version, n.live AS now_live, coalesce(o.live, true) AS was_live
    FROM gate_now n
    LEFT JOIN ops.metric_gates o USING (workspace_id, metric_key, definition_version)
    UNION ALL
    SELECT o.workspace_id, o.metric_key, o.definition_version, true, o.live
    FROM ops.metric_gates o
    ANTI JOIN gate_now n USING (workspace_id, metric_key, definition_version)
)
WHERE now_live <> was_live;

INSERT INTO ops.stale_periods
SELECT DISTINCT v.workspace_id, date_trunc('hour', v.occurred_at)
FROM metrics.metric_values v
SEMI JOIN (
    SELECT DISTINCT v.workspace_id, v.metric_key, v.entity_type, v.entity_id
    FROM metrics.metric_values v
    JOIN gate_changed c USING (workspace_id, metric_key, definition_version)
) e USING (workspace_id, metric_key, entity_type, entity_id);

DELETE FROM ops.metric_gates;
INSERT INTO ops.metric_gates BY NAME SELECT * FROM gate_now;
