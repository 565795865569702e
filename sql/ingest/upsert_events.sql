-- Replace the window's events: one row per event_id (the first delivery, in file and line order, wins).
DELETE FROM raw.events WHERE occurred_at >= $window_start AND occurred_at < $window_end;

INSERT INTO raw.events
SELECT event_id, source, event_type, workspace_id, occurred_at, session_id, service_id, channel, direction,
       is_simulation, conversation_id, snapshot_version, data, file, line, $ingested_at
FROM parsed_lines p
JOIN (
    SELECT arg_min({'part': part, 'part_row': part_row}, (file, line)) AS first FROM parsed_lines
    WHERE reason IS NULL AND occurred_at >= $window_start AND occurred_at < $window_end
    GROUP BY event_id
) d ON p.part = d.first.part AND p.part_row = d.first.part_row;
