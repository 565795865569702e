-- The latest aggregate of each of a workspace's metrics (metrics.metric_latest: at the metric's own
-- granularity, per source). `filters` are allow-listed conditions from metricstore.query; values are bound.
SELECT metric_key, name, unit, granularity, period_start, source, value, sample_count, computed_at
FROM metrics.metric_latest
WHERE workspace_id = $workspace_id
  AND list_contains($metric_keys, metric_key)
{%- for condition in filters %}
  AND {{ condition }}
{%- endfor %}
ORDER BY metric_key, source
