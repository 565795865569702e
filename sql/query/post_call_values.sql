-- Conversations' values of the given metrics under their current definition versions, the most recently
-- evaluated one per conversation and metric.
SELECT v.entity_id, v.metric_key, v.metric_type::VARCHAR AS metric_type, v.value_num, v.value_text, v.value_bool,
       v.value_list, v.status::VARCHAR AS status
FROM metrics.metric_values v
JOIN (SELECT unnest($metric_keys) AS metric_key, unnest($definition_versions) AS definition_version) current
  USING (metric_key, definition_version)
WHERE v.workspace_id = $workspace_id AND v.entity_type = 'conversation'
  AND list_contains($conversation_ids, v.entity_id)
QUALIFY row_number() OVER (PARTITION BY v.entity_id, v.metric_key ORDER BY v.evaluated_at DESC) = 1
