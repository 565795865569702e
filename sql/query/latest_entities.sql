-- The latest value of each metric per entity: the most recently evaluated row (the newest definition version
-- on a tie), as the aggregates pick it. Newest entities first, one row past the limit to tell it was reached.
SELECT metric_key, metric_type::VARCHAR AS metric_type, entity_type::VARCHAR AS entity_type, entity_id,
       session_id, service_id, channel::VARCHAR AS channel, direction::VARCHAR AS direction,
       source::VARCHAR AS source, occurred_at, value_num, value_text, value_bool, value_list,
       status::VARCHAR AS status, confidence, definition_version, evaluated_at
FROM metrics.metric_values
WHERE workspace_id = $workspace_id
  AND list_contains($metric_keys, metric_key)
{%- for condition in filters %}
  AND {{ condition }}
{%- endfor %}
QUALIFY row_number() OVER (PARTITION BY metric_key, entity_type, entity_id
                           ORDER BY evaluated_at DESC, definition_version DESC) = 1
ORDER BY occurred_at DESC, entity_type, entity_id, metric_key
LIMIT $row_limit
