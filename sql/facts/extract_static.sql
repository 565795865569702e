-- One pass over one source's window entities, straight into metrics.metric_values: every static path (and
-- every key a sql_expr reads) comes from one parse of `data` (json_extract with the list of paths), every
-- sql_expr is evaluated, each slot's JSON value is paired with the metrics that read it, typed by the
-- metric's type and given a status (ok, invalid, out_of_range, or missing for required metrics).
INSERT INTO metrics.metric_values BY NAME
WITH read_once AS (
    SELECT e.*, r.data, json_extract(r.data, $data_paths::VARCHAR[]) AS data_values
    FROM window_entities e
    JOIN raw.events r ON r.rowid = e.event_rowid
    WHERE e.source = $source AND r.source = $source
),
parsed AS (
    -- sql_expr metrics see `data` narrowed to the keys they read (see SourcePlan.narrowed_data)
    SELECT * REPLACE ({{ data }} AS data) FROM read_once
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
),
extracted AS (
    SELECT slots.* EXCLUDE (s), m.metric_key, m.metric_type, m.definition_version, m.is_required,
           m.valid_range_min, m.valid_range_max, s.j
    FROM slots
    JOIN metric_specs m
      ON m.source = $source AND m.slot = s.slot AND m.workspace_id = slots.workspace_id
    WHERE (len(m.event_types) = 0 OR list_contains(m.event_types, slots.event_type))
      AND (m.channel_scope = 'all' OR m.channel_scope = slots.channel OR m.channel_scope = slots.direction)
),
typed_json AS (
    -- json_extract and to_json write minified JSON, so the first character tells the type without a parse
    SELECT *, CASE WHEN j IS NOT NULL AND j::VARCHAR <> ''
                   THEN CASE left(j::VARCHAR, 1) WHEN '{' THEN 'OBJECT' WHEN '[' THEN 'ARRAY' WHEN '"' THEN 'VARCHAR'
                                                  WHEN 't' THEN 'BOOLEAN' WHEN 'f' THEN 'BOOLEAN' WHEN 'n' THEN 'NULL'
                                                  ELSE 'NUMBER' END
              END AS jt
    FROM extracted
),
kinds AS (
    SELECT *, CASE WHEN jt = 'VARCHAR' THEN j ->> '$' WHEN jt <> 'NULL' THEN j::VARCHAR END AS jtext
    FROM typed_json
),
typed AS (
    SELECT *,
           CASE WHEN metric_type = 'numerical' THEN
                CASE WHEN jt = 'BOOLEAN' THEN (jtext = 'true')::INTEGER::DOUBLE
                     WHEN isfinite(try_cast(jtext AS DOUBLE)) THEN try_cast(jtext AS DOUBLE) END  -- not NaN/inf
           END AS num,
           CASE WHEN metric_type IN ('categorical', 'text') AND trim(jtext) <> '' THEN jtext END AS txt,
           CASE WHEN metric_type = 'boolean' THEN
                CASE WHEN jt = 'BOOLEAN' THEN jtext = 'true'
                     WHEN jt = 'NUMBER' THEN try_cast(jtext AS DOUBLE) <> 0
                     WHEN lower(trim(jtext)) IN ('true', 'yes', 'y', '1') THEN true
                     WHEN lower(trim(jtext)) IN ('false', 'no', 'n', '0') THEN false
                END
           END AS bool,
           CASE WHEN metric_type = 'list' THEN
                CASE WHEN jt = 'ARRAY' THEN json_extract_string(j, '$[*]')
                     WHEN jtext IS NOT NULL AND trim(jtext) <> '' THEN [jtext] END
           END AS lst,
           jt IS NULL OR jt = 'NULL' OR (jt = 'VARCHAR' AND trim(jtext) = '') AS is_missing
    FROM kinds
)
SELECT workspace_id, metric_key, metric_type, entity_type, entity_id, session_id, service_id, channel, direction,
       CASE WHEN is_simulation THEN 'simulation' ELSE 'production' END AS source, occurred_at,
       num AS value_num,
       coalesce(txt, CASE WHEN NOT is_missing AND num IS NULL AND bool IS NULL AND lst IS NULL THEN jtext END)
           AS value_text,
       bool AS value_bool, lst AS value_list,
       CASE WHEN is_missing THEN 'missing'
            WHEN num IS NULL AND txt IS NULL AND bool IS NULL AND lst IS NULL THEN 'invalid'
            WHEN num < valid_range_min OR num > valid_range_max THEN 'out_of_range'
            ELSE 'ok'
       END AS status,
       definition_version, $evaluated_at AS evaluated_at
FROM typed
WHERE NOT is_missing OR is_required;
