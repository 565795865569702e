-- Replace the window's events: one row per event_id (the first delivery wins), valid lines only.
DELETE FROM raw.events WHERE occurred_at >= $window_start AND occurred_at < $window_end;

INSERT INTO raw.events
SELECT event_id, source, event_type, workspace_id, occurred_at, session_id, service_id, channel, direction,
       is_simulation, conversation_id, snapshot_version, data, file, line, $ingested_at
FROM parsed_lines
WHERE reason IS NULL AND occurred_at >= $window_start AND occurred_at < $window_end
QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY file, line) = 1
ORDER BY occurred_at, event_id;
