-- The fast path of latest_entities.sql for the newest values: only metric/entity pairs with a value at or after
-- the $row_limit-th newest occurred_at can be among the newest $row_limit latest values, so only their rows are
-- ranked. A pair's latest evaluation may be older than the cut: those are dropped, and when fewer than
-- $row_limit rows remain the caller runs latest_entities.sql instead (the answer is then exact either way).
WITH scoped AS (
    SELECT *
    FROM metrics.metric_values
    WHERE workspace_id = $workspace_id
      AND list_contains($metric_keys, metric_key)
{%- for condition in filters %}
      AND {{ condition }}
{%- endfor %}
),
cut AS (
    SELECT min(occurred_at) AS occurred_at
    FROM (SELECT occurred_at FROM scoped ORDER BY occurred_at DESC LIMIT $row_limit)
),
candidates AS (
    SELECT DISTINCT metric_key, entity_type, entity_id
    FROM scoped
    WHERE occurred_at >= (SELECT occurred_at FROM cut)
),
ranked AS (
    SELECT s.*
    FROM scoped s
    SEMI JOIN candidates c USING (metric_key, entity_type, entity_id)
    QUALIFY row_number() OVER (PARTITION BY metric_key, entity_type, entity_id
                               ORDER BY evaluated_at DESC, definition_version DESC) = 1
)
SELECT metric_key, metric_type::VARCHAR AS metric_type, entity_type::VARCHAR AS entity_type, entity_id,
       session_id, service_id, channel::VARCHAR AS channel, direction::VARCHAR AS direction,
       source::VARCHAR AS source, occurred_at, value_num, value_text, value_bool, value_list,
       status::VARCHAR AS status, confidence, definition_version, evaluated_at
FROM ranked
WHERE occurred_at >= (SELECT occurred_at FROM cut)
ORDER BY occurred_at DESC, entity_type, entity_id, metric_key
LIMIT $row_limit
