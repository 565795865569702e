-- The entities a window owns: every event, except that a conversation (call_intelligence.row) counts once,
-- by its latest snapshot, and only in the window of that snapshot.
CREATE OR REPLACE TEMP TABLE window_entities AS
-- `data` stays in raw.events (extract_static reads it there by event_rowid): no copy of the documents.
WITH in_window AS (
    SELECT * EXCLUDE (data), rowid AS event_rowid
    FROM raw.events WHERE occurred_at >= $window_start AND occurred_at < $window_end
),
latest_snapshots AS (
    SELECT w.* FROM in_window w
    WHERE w.conversation_id IS NOT NULL
    QUALIFY row_number() OVER (
        PARTITION BY w.workspace_id, w.conversation_id
        ORDER BY w.occurred_at DESC, w.snapshot_version DESC NULLS LAST, w.event_id DESC) = 1
)
SELECT l.*, 'conversation' AS entity_type, l.conversation_id AS entity_id
FROM latest_snapshots l
WHERE NOT EXISTS (
    SELECT 1 FROM raw.events later
    WHERE later.occurred_at >= $window_end
      AND later.conversation_id = l.conversation_id AND later.workspace_id = l.workspace_id
)
UNION ALL
SELECT w.*, 'event' AS entity_type, w.event_id AS entity_id
FROM in_window w
WHERE w.conversation_id IS NULL;
