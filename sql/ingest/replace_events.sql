-- Replace the window's events with the winning deliveries it owns, and evict every stored copy that is no longer
-- its event's winner (another hour's copy of an event whose first delivery is here, a removed file's events).
-- An event that leaves raw.events and does not come back unchanged takes its metric values (static and AI) with
-- it; their hours are marked stale so the aggregates are recomputed without them.
-- No temp table here holds the documents: window_events names the winning lines by (part, part_row), and `data` is
-- read from parsed_lines and raw.events where it is compared and stored. Copied through a temp table and sorted by
-- (file, line) before the insert, the documents had made this script's statements 3x slower (400,008 events in
-- one window: 21 -> 6 s).
CREATE OR REPLACE TEMP TABLE window_events AS
SELECT p.event_id, p.workspace_id, p.occurred_at, p.part, p.part_row
FROM parsed_lines p
JOIN event_winners w ON w.event_id = p.event_id AND w.first.file = p.file AND w.first.line = p.line
WHERE p.reason IS NULL AND p.occurred_at >= $window_start AND p.occurred_at < $window_end
QUALIFY row_number() OVER (PARTITION BY p.event_id ORDER BY p.part, p.part_row) = 1;  -- a file reached twice

CREATE OR REPLACE TEMP TABLE leaving_events AS
SELECT r.rowid AS event_rowid, r.event_id, r.workspace_id, r.conversation_id, r.occurred_at
FROM raw.events r
WHERE r.occurred_at >= $window_start AND r.occurred_at < $window_end
UNION ALL
-- a copy outside the window leaves when its event's winning delivery is in another file, or an edit moved it to
-- another hour; while the winner is in the copy's file and hour, the copy stays as it is until that hour's own
-- run stores what the line says now (an edit that shifted the line, or its time within the hour). Its data does
-- not decide (the window's copy has another occurred_at): not reading that column keeps this scan narrow.
SELECT r.rowid, r.event_id, r.workspace_id, r.conversation_id, r.occurred_at
FROM raw.events r
SEMI JOIN touched_ids t USING (event_id)
WHERE (r.occurred_at < $window_start OR r.occurred_at >= $window_end)
  AND NOT EXISTS (
      SELECT 1 FROM event_winners w
      WHERE w.event_id = r.event_id AND w.first.file = r.file
        AND date_trunc('hour', w.first.occurred_at) = date_trunc('hour', r.occurred_at)
  );

-- a leaving copy keeps its values when the window stores its event again unchanged: same workspace, same time,
-- same document
CREATE OR REPLACE TEMP TABLE gone_events AS
SELECT l.* FROM leaving_events l
ANTI JOIN (
    SELECT r.rowid AS event_rowid
    FROM raw.events r
    JOIN window_events n ON n.event_id = r.event_id AND n.workspace_id = r.workspace_id
                        AND n.occurred_at = r.occurred_at
    JOIN parsed_lines p ON p.part = n.part AND p.part_row = n.part_row
    WHERE r.occurred_at >= $window_start AND r.occurred_at < $window_end AND p.data = r.data
) same USING (event_rowid);

-- values of a gone event: the event's own, and its conversation's when they were computed from this snapshot
CREATE OR REPLACE TEMP TABLE gone_values AS
SELECT v.rowid AS value_rowid, v.workspace_id, v.metric_key, v.entity_type, v.entity_id
FROM metrics.metric_values v
JOIN gone_events g ON v.workspace_id = g.workspace_id AND v.entity_id = g.event_id
WHERE v.entity_type = 'event' AND g.conversation_id IS NULL
UNION
SELECT v.rowid, v.workspace_id, v.metric_key, v.entity_type, v.entity_id
FROM metrics.metric_values v
JOIN gone_events g
  ON v.workspace_id = g.workspace_id AND v.entity_id = g.conversation_id AND v.occurred_at = g.occurred_at
WHERE v.entity_type = 'conversation';

-- the hours of every value of those entities: the gone value's own, and those of the entity's other versions, one
-- of which may now be its latest (aggregates/recompute.sql counts an entity at its latest value only)
INSERT INTO ops.stale_periods
SELECT DISTINCT v.workspace_id, date_trunc('hour', v.occurred_at)
FROM metrics.metric_values v
SEMI JOIN gone_values g
    ON v.workspace_id = g.workspace_id AND v.metric_key = g.metric_key AND v.entity_type = g.entity_type
   AND v.entity_id = g.entity_id;

DELETE FROM metrics.metric_values WHERE rowid IN (SELECT value_rowid FROM gone_values);

DROP TABLE gone_values;

DELETE FROM raw.events WHERE rowid IN (SELECT event_rowid FROM leaving_events);

INSERT INTO raw.events
SELECT p.event_id, p.source, p.event_type, p.workspace_id, p.occurred_at, p.session_id, p.service_id, p.channel,
       p.direction, p.is_simulation, p.conversation_id, p.snapshot_version, p.data, p.file, p.line, $now
FROM parsed_lines p
SEMI JOIN window_events n ON p.part = n.part AND p.part_row = n.part_row;
