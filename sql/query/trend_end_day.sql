-- The newest day the workspace has published daily aggregates for (any metric, any source): trends end there,
-- not at the wall clock, so the same published store always gives the same series.
SELECT max(period_start)::DATE AS end_day
FROM metrics.metric_aggregates
WHERE workspace_id = $workspace_id AND granularity = 'daily'
