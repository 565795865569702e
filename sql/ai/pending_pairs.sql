-- The (metric, conversation) pairs an hourly run evaluates: conversations whose latest snapshot falls in the
-- 24 hours before the partition's end, in each metric's scope, not yet evaluated under the metric's current
-- definition version (and not waiting in a submitted batch), the most recent `cap` per metric (each metric's
-- own: a workspace evaluating on arrival has what is left of the hour's budget). In a run started by arriving
-- landing files (`ended_only`), only conversations whose snapshot says the call ended.
CREATE OR REPLACE TEMP TABLE ai_pending AS
WITH {% include "windows/current_snapshots.sql" %},
candidates AS (
    SELECT s.workspace_id, s.metric_key, s.definition_version, s.model_tier, s.cap, c.conversation_id,
           c.event_id, c.occurred_at
    FROM current_snapshots c
    JOIN ai_specs s ON s.workspace_id = c.workspace_id
    WHERE {% include "ai/unevaluated_in_scope.sql" %}
      AND (NOT s.ended_only OR {% include "windows/call_ended.sql" %})
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
    PARTITION BY workspace_id, metric_key ORDER BY occurred_at DESC, conversation_id) <= cap;
