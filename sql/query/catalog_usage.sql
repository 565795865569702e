-- What the published store holds for each of a workspace's metrics: the version the last run computed with,
-- the newest aggregate period, and whether any value (even one left out of aggregates) exists.
WITH keys AS (SELECT unnest($metric_keys) AS metric_key),
published AS (
    SELECT metric_key, any_value(definition_version) AS published_definition_version
    FROM metrics.metric_definitions
    WHERE (workspace_id = $workspace_id OR builtin) AND list_contains($metric_keys, metric_key)
    GROUP BY metric_key
),
aggregated AS (
    SELECT metric_key, max(period_start) AS latest_period_start
    FROM metrics.metric_aggregates
    WHERE workspace_id = $workspace_id AND list_contains($metric_keys, metric_key)
    GROUP BY metric_key
),
valued AS (
    SELECT DISTINCT metric_key
    FROM metrics.metric_values
    WHERE workspace_id = $workspace_id AND list_contains($metric_keys, metric_key)
)
SELECT k.metric_key, p.published_definition_version, a.latest_period_start,
       a.metric_key IS NOT NULL OR v.metric_key IS NOT NULL AS has_values
FROM keys k
LEFT JOIN published p USING (metric_key)
LEFT JOIN aggregated a USING (metric_key)
LEFT JOIN valued v USING (metric_key)
