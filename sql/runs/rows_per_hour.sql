-- Rows of one table per hour of a run's window (a range run's per-partition metadata).
-- Code: relation, time_column, condition (allow-listed in metricstore/hourly_rows.py). $window_start, $window_end.
SELECT date_trunc('hour', {{ time_column }}) AS hour, count(*) AS n
FROM {{ relation }}
WHERE {{ time_column }} >= $window_start AND {{ time_column }} < $window_end AND {{ condition }}
GROUP BY ALL;
