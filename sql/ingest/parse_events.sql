-- Read a group of landing files and parse every non-blank line once into the envelope; a line that breaks a
-- rule gets its reason. Rendered with one subquery per file (each keeps its own 1-based line numbers: a
-- row_number() over the file's read, which keeps that file's parse on one thread; ingest.py parses groups of
-- files side by side, one statement each, so that every core works); every path is a bound parameter.
-- Parsing is budgeted: one parse of the line (json_extract of the envelope fields, `data`, data.id and
-- data.snapshot_version together); a blank line is found with a regex, not trim() (which copies every line);
-- `text` is kept for quarantined lines only (valid lines keep `data`). A line the CSV reader cannot decode
-- (invalid UTF-8, over max_line_size) fails the statement; parsed again alone with `rejects`, such a line goes to
-- the rejects table (store_rejects; single-threaded, which rejects a line longer than the buffer too, where the
-- parallel reader drops it without a word), read by landing.py. The two last
-- parameters bound the accepted occurred_at: [the first partition's start, the latest accepted time).
CREATE OR REPLACE TABLE {{ table }} AS
SELECT * REPLACE (CASE WHEN reason IS NOT NULL THEN text END AS text) FROM (
WITH landing AS (
{% if not files %}
    SELECT NULL::VARCHAR AS file, NULL::VARCHAR AS folder_source, NULL::BIGINT AS line, NULL::VARCHAR AS text
    WHERE false
{% endif %}
{% for f in files %}
    {% if not loop.first %}UNION ALL{% endif %}
    SELECT ?::VARCHAR AS file, ?::VARCHAR AS folder_source, row_number() OVER () AS line, text
    FROM (
    {% if f.format == 'parquet' %}
        SELECT to_json(p)::VARCHAR AS text FROM read_parquet(?) p
    {% else %}
        SELECT line AS text
        FROM read_csv(?, columns = {'line': 'VARCHAR'}, header = false, delim = chr(1), quote = '', escape = '',
                      auto_detect = false, strict_mode = false, compression = '{{ f.compression }}',
                      max_line_size = {{ max_line }}, buffer_size = {{ 2 * max_line }}
                      {%- if rejects %}, store_rejects = true, parallel = false{% endif %})
    {% endif %}
    )
{% endfor %}
),
bounds AS (
    SELECT ?::TIMESTAMP AS accepted_from, ?::TIMESTAMP AS accepted_until
),
parsed AS (
    SELECT file, folder_source, line, text,
           try(json_extract(text, ['$.event_id', '$.source', '$.event_type', '$.workspace_id', '$.occurred_at',
                                   '$.session_id', '$.service_id', '$.channel', '$.direction', '$.is_simulation',
                                   '$.data', '$.data.id', '$.data.snapshot_version'])) AS raw_x
    FROM landing
    WHERE text IS NOT NULL AND regexp_matches(text, '[^ ]')
),
nulled AS (
    -- a JSON null counts as absent, as from_json reads it
    SELECT *, list_transform(raw_x, v -> CASE WHEN v::VARCHAR = 'null' THEN NULL ELSE v END) AS x FROM parsed
),
typed AS (
    SELECT *,
           json_type(x[1]) AS t_event_id, json_type(x[2]) AS t_source,
           json_type(x[3]) AS t_event_type, json_type(x[4]) AS t_workspace_id,
           json_type(x[5]) AS t_occurred_at, json_type(x[6]) AS t_session_id,
           json_type(x[7]) AS t_service_id, json_type(x[8]) AS t_channel,
           json_type(x[9]) AS t_direction, json_type(x[10]) AS t_is_simulation,
           -- json_extract writes sub-documents minified, so the first character tells the JSON type.
           -- Parquet files may carry `data` as a JSON string rather than a struct: decode it.
           CASE WHEN left(x[11], 1) = '"' AND json_valid(x[11] ->> '$') THEN (x[11] ->> '$')::JSON
                ELSE x[11] END AS data_json,
           x[2] ->> '$' AS source
    FROM nulled
),
keyed AS (
    SELECT *,
           CASE WHEN source = 'call_intelligence' AND left(data_json, 1) = '{'
                THEN CASE WHEN left(x[11], 1) = '{' THEN [x[12], x[13]]
                          ELSE json_extract(data_json, ['$.id', '$.snapshot_version']) END END AS data_keys
    FROM typed
),
checked AS (
    SELECT *,
           x[1] ->> '$' AS event_id, x[3] ->> '$' AS event_type,
           x[4] ->> '$' AS workspace_id, x[8] ->> '$' AS channel,
           x[9] ->> '$' AS direction, x[6] ->> '$' AS session_id,
           x[7] ->> '$' AS service_id,
           try_cast(x[5] ->> '$' AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS occurred_at,
           coalesce(try_cast(x[10] ->> '$' AS BOOLEAN), false) AS is_simulation,
           data_keys[1] ->> '$' AS conversation_id,
           json_type(data_keys[1]) AS t_conversation_id,
           nullif(json_type(data_keys[2]), 'NULL') AS t_snapshot_version  -- null counts as absent
    FROM keyed, bounds
)
SELECT file, folder_source, line, text, event_id, source, event_type, workspace_id, occurred_at, session_id,
       service_id, channel, direction, is_simulation, data_json AS data,
       CASE WHEN source = 'call_intelligence' AND event_type = 'call_intelligence.row' THEN conversation_id END
           AS conversation_id,
       CASE WHEN t_snapshot_version IN ('UBIGINT', 'BIGINT') THEN try_cast(data_keys[2] ->> '$' AS BIGINT) END
           AS snapshot_version,
       -- what tells a resent event from a different one under the same event_id (json() minifies `data`)
       hash(event_id, source, event_type, workspace_id, occurred_at, session_id, service_id, channel, direction,
            is_simulation, json(data_json)) AS content_hash,
       CASE
           WHEN raw_x IS NULL THEN 'not valid JSON'
           WHEN left(ltrim(text), 1) <> '{' THEN 'not a JSON object'
           WHEN t_event_id IS NULL THEN 'missing event_id'
           WHEN t_source IS NULL THEN 'missing source'
           WHEN t_event_type IS NULL THEN 'missing event_type'
           WHEN t_workspace_id IS NULL THEN 'missing workspace_id'
           WHEN t_occurred_at IS NULL THEN 'missing occurred_at'
           WHEN t_channel IS NULL THEN 'missing channel'
           WHEN data_json IS NULL THEN 'missing data'
           WHEN t_event_id <> 'VARCHAR' OR trim(event_id) = '' THEN 'event_id must be a non-empty string'
           WHEN t_source <> 'VARCHAR' OR source NOT IN ({{ sources }})
               THEN 'source must be one of {{ sources | replace("'", "") }}'
           WHEN source <> folder_source
               THEN 'source ''' || source || ''' does not match its folder ''' || folder_source || ''''
           WHEN t_event_type <> 'VARCHAR' OR trim(event_type) = '' THEN 'event_type must be a non-empty string'
           WHEN t_workspace_id <> 'VARCHAR' OR trim(workspace_id) = ''
               THEN 'workspace_id must be a non-empty string'
           WHEN t_occurred_at <> 'VARCHAR' OR occurred_at IS NULL
               THEN 'occurred_at must be an ISO-8601 timestamp string'
           WHEN occurred_at < accepted_from
               THEN 'occurred_at ' || (x[5] ->> '$') || ' is before the first partition ('
                    || strftime(accepted_from, '%Y-%m-%d %H:%M') || ' UTC)'
           WHEN occurred_at >= accepted_until
               THEN 'occurred_at ' || (x[5] ->> '$') || ' is too far in the future (accepted until '
                    || strftime(accepted_until, '%Y-%m-%d %H:%M') || ' UTC)'
           WHEN t_channel <> 'VARCHAR' OR channel NOT IN ('voice', 'text', 'surface')
               THEN 'channel must be voice, text or surface'
           WHEN t_direction IS NOT NULL AND (t_direction <> 'VARCHAR' OR direction NOT IN ('inbound', 'outbound'))
               THEN 'direction must be inbound, outbound or null'
           WHEN t_is_simulation IS NOT NULL AND t_is_simulation <> 'BOOLEAN'
               THEN 'is_simulation must be true or false'
           WHEN t_session_id IS NOT NULL AND t_session_id <> 'VARCHAR' THEN 'session_id must be a string or null'
           WHEN t_service_id IS NOT NULL AND t_service_id <> 'VARCHAR' THEN 'service_id must be a string or null'
           WHEN left(data_json, 1) <> '{' THEN 'data must be a JSON object'
           WHEN event_type = 'call_intelligence.row' AND source = 'call_intelligence'
                AND (coalesce(t_conversation_id, 'NULL') NOT IN ('VARCHAR', 'UBIGINT', 'BIGINT')
                     OR trim(conversation_id) = '')
               THEN 'call_intelligence.row without data.id'
           WHEN t_snapshot_version IS NOT NULL AND (t_snapshot_version NOT IN ('UBIGINT', 'BIGINT')
                                                     OR try_cast(data_keys[2] ->> '$' AS BIGINT) IS NULL)
               THEN 'data.snapshot_version must be an integer'
       END AS reason
FROM checked
);
