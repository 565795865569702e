-- The conversations of an hour's 24-hour window whose post-call record may differ from the one last queued for
-- them: what it is built from (the snapshot, the values under the current versions, the set of metrics) has a
-- fingerprint the conversation's newest delivery does not have. `ready` once every metric it carries is in.
-- Registered frames: webhook_metrics (workspace_id, metric_key, definition_version) — the metrics a record
-- carries; ai_specs (as for ai/pending_pairs.sql) — the workspace's AI metrics.
WITH {% include "windows/current_snapshots.sql" %},
waiting AS (
    -- an AI metric this or a later run of the window can still evaluate; in the window's oldest hour (its last
    -- run) the conversation is delivered as it is
    SELECT DISTINCT c.workspace_id, c.conversation_id
    FROM current_snapshots c
    JOIN ai_specs s ON s.workspace_id = c.workspace_id
    WHERE c.occurred_at >= $last_run_from
      AND list_contains($runnable_tiers, s.model_tier)
      AND {% include "ai/unevaluated_in_scope.sql" %}
),
metric_sets AS (
    SELECT workspace_id, string_agg(metric_key || '@' || definition_version, ',' ORDER BY metric_key) AS metrics
    FROM webhook_metrics
    GROUP BY workspace_id
),
conversation_values AS (
    SELECT v.workspace_id, v.entity_id AS conversation_id,
           string_agg(concat_ws('|', v.metric_key, v.definition_version, v.status, v.value_num, v.value_text,
                                v.value_bool, v.value_list::VARCHAR, v.evaluated_at), ';'
                      ORDER BY v.metric_key, v.evaluated_at) AS vals
    FROM metrics.metric_values v
    JOIN webhook_metrics m USING (workspace_id, metric_key, definition_version)
    JOIN current_snapshots c ON c.workspace_id = v.workspace_id AND c.conversation_id = v.entity_id
    WHERE v.entity_type = 'conversation'
    GROUP BY ALL
),
newest_delivery AS (
    SELECT workspace_id, conversation_id, fingerprint
    FROM ops.webhook_outbox
    WHERE list_contains($workspaces, workspace_id)
    QUALIFY row_number() OVER (PARTITION BY workspace_id, conversation_id ORDER BY seq DESC) = 1
),
fingerprinted AS (
    SELECT c.workspace_id, c.conversation_id, c.occurred_at,
           hash(c.event_id, coalesce(s.metrics, ''), coalesce(v.vals, '')) AS fingerprint
    FROM current_snapshots c
    LEFT JOIN metric_sets s USING (workspace_id)
    LEFT JOIN conversation_values v USING (workspace_id, conversation_id)
    WHERE list_contains($workspaces, c.workspace_id)
)
SELECT f.workspace_id, f.conversation_id, f.occurred_at, f.fingerprint, w.conversation_id IS NULL AS ready
FROM fingerprinted f
LEFT JOIN newest_delivery d USING (workspace_id, conversation_id)
LEFT JOIN waiting w USING (workspace_id, conversation_id)
WHERE d.fingerprint IS DISTINCT FROM f.fingerprint
ORDER BY f.workspace_id, f.occurred_at, f.conversation_id
