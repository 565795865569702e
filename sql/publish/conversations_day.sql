-- The conversations whose latest snapshot is on this day (raw.conversations, restricted to one day without
-- ranking every conversation of the warehouse: a conversation with a snapshot after the day is not this day's).
SELECT workspace_id, conversation_id, event_id, session_id, service_id, channel, direction, is_simulation,
       occurred_at, snapshot_version, data
FROM raw.events e
WHERE conversation_id IS NOT NULL AND occurred_at >= $day_start AND occurred_at < $day_end
  AND NOT EXISTS (
      SELECT 1 FROM raw.events later
      WHERE later.conversation_id = e.conversation_id AND later.workspace_id = e.workspace_id
        AND later.occurred_at >= $day_end)
QUALIFY row_number() OVER (PARTITION BY workspace_id, conversation_id
                           ORDER BY occurred_at DESC, snapshot_version DESC NULLS LAST, event_id DESC) = 1
ORDER BY workspace_id, conversation_id
