-- One metric's aggregate series at one granularity and source, newest first.
SELECT period_start, value, sample_count
FROM metrics.metric_aggregates
WHERE workspace_id = $workspace_id AND metric_key = $metric_key
  AND granularity = $granularity AND source = $source
{%- for condition in filters %}
  AND {{ condition }}
{%- endfor %}
ORDER BY period_start DESC
LIMIT $row_limit
