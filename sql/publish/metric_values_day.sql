-- One day of metric values, as a published part: one metric of one workspace together, so that Parquet's
-- row-group statistics let a reader's filter on workspace, metric or entity skip most of the part.
SELECT *
FROM metrics.metric_values
WHERE occurred_at >= $day_start AND occurred_at < $day_end
ORDER BY workspace_id, metric_key, entity_id, definition_version
