-- Included as the first CTEs of a query over an hour's 24-hour window (ai/pending_pairs.sql,
-- webhooks/changed_conversations.sql): each conversation's latest snapshot at or after $lookback_start and
-- before $window_end; a conversation with a later snapshot belongs to the run that owns that snapshot.
latest AS (
    SELECT e.*
    FROM raw.events e
    WHERE e.conversation_id IS NOT NULL
      AND e.occurred_at >= $lookback_start AND e.occurred_at < $window_end
    QUALIFY row_number() OVER (
        PARTITION BY e.workspace_id, e.conversation_id
        ORDER BY e.occurred_at DESC, e.snapshot_version DESC NULLS LAST, e.event_id DESC) = 1
),
current_snapshots AS (
    SELECT l.* FROM latest l
    WHERE NOT EXISTS (
        SELECT 1 FROM raw.events later
        WHERE later.occurred_at >= $window_end
          AND later.conversation_id = l.conversation_id AND later.workspace_id = l.workspace_id
    )
)
