-- Included in a WHERE clause: the AI metric `s` (a row of ai_specs) applies to the snapshot `c` (its event
-- types and channel scope) and has no value for that conversation under its current definition version.
(len(s.event_types) = 0 OR list_contains(s.event_types, c.event_type))
AND (s.channel_scope = 'all' OR s.channel_scope = c.channel OR s.channel_scope = c.direction)
AND NOT EXISTS (
    SELECT 1 FROM metrics.metric_values v
    WHERE v.workspace_id = c.workspace_id AND v.metric_key = s.metric_key
      AND v.entity_type = 'conversation' AND v.entity_id = c.conversation_id
      AND v.definition_version = s.definition_version
)
