-- One point per day from $first_day to $last_day (inclusive): a day without an aggregate has value NULL and
-- sample_count 0, so a chart of the series has no gaps.
WITH days AS (
    SELECT range::DATE AS day
    FROM range($first_day::TIMESTAMP, $last_day::TIMESTAMP + INTERVAL 1 DAY, INTERVAL 1 DAY)
),
series AS (
    SELECT day, value, sample_count
    FROM metrics.metric_trend
    WHERE workspace_id = $workspace_id AND metric_key = $metric_key AND source = $source
      AND day BETWEEN $first_day AND $last_day
)
SELECT d.day, s.value, coalesce(s.sample_count, 0) AS sample_count
FROM days d
LEFT JOIN series s USING (day)
ORDER BY d.day
