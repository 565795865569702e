-- One pass over one source's window entities: every static path is read from one parse of `data`
-- (json_extract with the list of paths), every sql_expr is evaluated, and each slot's JSON value is
-- paired with the metrics that read it. Typing and status follow in insert_values.sql.
INSERT INTO extracted
WITH parsed AS (
    SELECT e.*, json_extract(e.data, $data_paths::VARCHAR[]) AS data_values
    FROM window_entities e
    WHERE e.source = $source
),
slots AS (
    SELECT p.workspace_id, p.event_type, p.entity_type, p.entity_id, p.session_id, p.service_id, p.channel,
           p.direction, p.is_simulation, p.occurred_at,
           unnest([
           {%- for slot in slots %}
               {'slot': {{ loop.index0 }}, 'j': ({{ slot }})::JSON}{{ "," if not loop.last }}
           {%- endfor %}
           ]) AS s
    FROM parsed p
)
SELECT slots.* EXCLUDE (s), m.metric_key, m.metric_type, m.definition_version, m.is_required,
       m.valid_range_min, m.valid_range_max, s.j
FROM slots
JOIN metric_specs m
  ON m.source = $source AND m.slot = s.slot AND m.workspace_id = slots.workspace_id
WHERE (len(m.event_types) = 0 OR list_contains(m.event_types, slots.event_type))
  AND (m.channel_scope = 'all' OR m.channel_scope = slots.channel OR m.channel_scope = slots.direction);
