-- The (metric, conversation) pairs an hourly run evaluates: conversations whose latest snapshot falls in the
-- 24 hours before the partition's end, in each metric's scope, not yet evaluated under the metric's current
-- definition version (and not waiting in a submitted batch), the most recent `cap` per metric.
CREATE OR REPLACE TEMP TABLE ai_pending AS
WITH latest AS (
    SELECT e.*
    FROM raw.events e
    WHERE e.conversation_id IS NOT NULL
      AND e.occurred_at >= $lookback_start AND e.occurred_at < $window_end
    QUALIFY row_number() OVER (
        PARTITION BY e.workspace_id, e.conversation_id
        ORDER BY e.occurred_at DESC, e.snapshot_version DESC NULLS LAST, e.event_id DESC) = 1
),
current_snapshots AS (
    -- a conversation with a later snapshot is evaluated by the run that owns that snapshot
    SELECT l.* FROM latest l
    WHERE NOT EXISTS (
        SELECT 1 FROM raw.events later
        WHERE later.occurred_at >= $window_end
          AND later.conversation_id = l.conversation_id AND later.workspace_id = l.workspace_id
    )
),
candidates AS (
    SELECT s.workspace_id, s.metric_key, s.definition_version, s.model_tier, c.conversation_id, c.event_id,
           c.occurred_at
    FROM current_snapshots c
    JOIN ai_specs s ON s.workspace_id = c.workspace_id
    WHERE (len(s.event_types) = 0 OR list_contains(s.event_types, c.event_type))
      AND (s.channel_scope = 'all' OR s.channel_scope = c.channel OR s.channel_scope = c.direction)
      AND NOT EXISTS (
          SELECT 1 FROM metrics.metric_values v
          WHERE v.workspace_id = c.workspace_id AND v.metric_key = s.metric_key
            AND v.entity_type = 'conversation' AND v.entity_id = c.conversation_id
            AND v.definition_version = s.definition_version
      )
      AND NOT EXISTS (  -- pairs an estimate already counted for an earlier hour (empty in real runs)
          SELECT 1 FROM ai_assumed_done d
          WHERE d.workspace_id = c.workspace_id AND d.metric_key = s.metric_key
            AND d.conversation_id = c.conversation_id
      )
      AND NOT EXISTS (
          SELECT 1 FROM ops.llm_batch_requests b
          WHERE NOT b.collected AND b.workspace_id = c.workspace_id AND b.conversation_id = c.conversation_id
            AND list_contains(b.metric_keys, s.metric_key)
      )
)
SELECT * FROM candidates
QUALIFY row_number() OVER (
    PARTITION BY workspace_id, metric_key ORDER BY occurred_at DESC, conversation_id) <= $cap;
