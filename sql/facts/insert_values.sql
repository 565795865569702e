-- Replace the window's static values: type each extracted JSON value by its metric's type and give it a
-- status. Rows of conversations whose newer snapshot moved them into this window leave their old hour,
-- and that hour is marked stale so its aggregates are recomputed.
CREATE OR REPLACE TEMP TABLE typed_values AS
WITH kinds AS (
    SELECT *, json_type(j) AS jt,
           CASE WHEN json_type(j) IN ('OBJECT', 'ARRAY') THEN j::VARCHAR
                WHEN json_type(j) IS NULL OR json_type(j) = 'NULL' THEN NULL
                ELSE j ->> '$' END AS jtext
    FROM extracted
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
                     WHEN jt IN ('BIGINT', 'UBIGINT', 'DOUBLE') THEN try_cast(jtext AS DOUBLE) <> 0
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
       definition_version
FROM typed
WHERE NOT is_missing OR is_required;

INSERT INTO ops.stale_periods
SELECT DISTINCT v.workspace_id, date_trunc('hour', v.occurred_at)
FROM metrics.metric_values v
JOIN (SELECT DISTINCT workspace_id, entity_id FROM window_entities WHERE entity_type = 'conversation') c
  ON v.entity_type = 'conversation' AND v.workspace_id = c.workspace_id AND v.entity_id = c.entity_id
WHERE v.occurred_at < $window_start;

DELETE FROM metrics.metric_values v
USING (SELECT DISTINCT workspace_id, entity_id FROM window_entities WHERE entity_type = 'conversation') c
WHERE v.entity_type = 'conversation' AND v.workspace_id = c.workspace_id AND v.entity_id = c.entity_id
  AND v.occurred_at < $window_start;

-- Static values are cheap to recompute: a re-run replaces every version of the window's static metrics, so a
-- definition whose scope narrowed leaves no stale old-version value behind.
DELETE FROM metrics.metric_values v
USING (SELECT DISTINCT workspace_id, metric_key FROM metric_specs) m
WHERE v.occurred_at >= $window_start AND v.occurred_at < $window_end
  AND v.workspace_id = m.workspace_id AND v.metric_key = m.metric_key;

INSERT INTO metrics.metric_values
SELECT workspace_id, metric_key, metric_type, entity_type, entity_id, session_id, service_id, channel, direction,
       source, occurred_at, value_num, value_text, value_bool, value_list, status,
       NULL AS rationale, NULL AS model, NULL AS input_tokens, NULL AS output_tokens, NULL AS cost_usd,
       definition_version, $evaluated_at
FROM typed_values
ORDER BY occurred_at, metric_key, entity_id;
