-- Before the window's static values are written again: rows of conversations whose newer snapshot moved
-- them into this window leave their old hour (marked stale, so its aggregates are recomputed), and the
-- window's rows of every static metric go.
INSERT INTO ops.stale_periods
SELECT DISTINCT v.workspace_id, date_trunc('hour', v.occurred_at)
FROM metrics.metric_values v
JOIN (SELECT DISTINCT workspace_id, entity_id FROM window_entities WHERE entity_type = 'conversation') c
  ON v.entity_type = 'conversation' AND v.workspace_id = c.workspace_id AND v.entity_id = c.entity_id
WHERE v.occurred_at < $window_start;

DELETE FROM metrics.metric_values v
USING (SELECT DISTINCT workspace_id, entity_id FROM window_entities WHERE entity_type = 'conversation') c
WHERE v.entity_type = 'conversation' AND v.workspace_id = c.workspace_id AND v.entity_id = c.entity_id
  AND v.occurred_at < $window_start;

-- Static values are cheap to recompute: a re-run replaces every version of the window's static metrics, so a
-- definition whose scope narrowed leaves no stale old-version value behind.
DELETE FROM metrics.metric_values v
USING (SELECT DISTINCT workspace_id, metric_key FROM metric_specs) m
WHERE v.occurred_at >= $window_start AND v.occurred_at < $window_end
  AND v.workspace_id = m.workspace_id AND v.metric_key = m.metric_key;
