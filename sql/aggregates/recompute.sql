-- Recompute the aggregates of the given hours (agg_hours) and days (agg_days) from the facts.
-- Per entity the most recently evaluated value counts; only values with status 'ok' are aggregated.
-- Results are rounded to 9 decimals. Sums are added exactly (exact_sum), so that a rerun gives the same
-- bytes whatever order the parallel scan added them in: a floating-point sum, even compensated (fsum),
-- can differ in its last bit with the order, and where the mean sits on a rounding boundary (2-decimal
-- values, 512 samples) that bit moves the 9th decimal. A day is never rolled up from rounded hours where
-- that would not be exact (an avg or sum of hourly results rounded to 9 decimals is off in the last digit).
-- (status is filtered after picking the latest: an older version's 'ok' never stands in for a newer verdict)
-- A definition version held back by its calibration gate (ops.metric_gates, not live) is left out before the
-- picking: until it passes, the entities an older version evaluated keep that version's value.
-- A group's sum in DECIMAL(38, 15), each value rounded to 15 decimals and the addition exact; a group
-- holding a value of 1e12 or more falls back to fsum. Both sums are computed for every group, so the
-- decimal one only adds values under 1e12: it cannot overflow below 1.7e11 values in one group.
CREATE OR REPLACE TEMP MACRO exact_sum(x) AS
    CASE WHEN max(abs(x)) < 1e12 THEN sum(CASE WHEN abs(x) < 1e12 THEN x::DECIMAL(38, 15) END)::DOUBLE
         ELSE fsum(x) END;

DELETE FROM metrics.metric_aggregates a
USING agg_specs s, agg_hours h
WHERE a.granularity = 'hourly' AND a.period_start = h.period_start
  AND a.workspace_id = s.workspace_id AND a.metric_key = s.metric_key;

-- The values that may count, of the occurrences in [range_start, range_end): all but those of a version its
-- gate holds back (a table macro, so that the bounds reach the scan and it skips the row groups outside them)
CREATE OR REPLACE TEMP MACRO countable_values(range_start, range_end) AS TABLE
SELECT v.workspace_id, v.metric_key, v.entity_type, v.entity_id, v.source, v.occurred_at, v.value_num,
       v.value_text, v.value_bool, v.status, v.evaluated_at, v.definition_version  -- not rationale, evidence
FROM metrics.metric_values v
ANTI JOIN ops.metric_gates g ON NOT g.live AND g.workspace_id = v.workspace_id AND g.metric_key = v.metric_key
    AND g.definition_version = v.definition_version
WHERE v.occurred_at >= range_start AND v.occurred_at < range_end;

-- Each entity's latest value of a latest-only metric (AI values: an entity may hold several versions), picked
-- once among all of its values in the days the run touches: the hours and the days both count this pick, so an
-- hour's result does not depend on which other hours of its day share its run.
CREATE OR REPLACE TEMP TABLE latest_values AS
SELECT v.*
FROM countable_values($days_start, $days_end) v
JOIN agg_days d ON date_trunc('day', v.occurred_at) = d.period_start
SEMI JOIN (SELECT workspace_id, metric_key FROM agg_specs WHERE latest_only) s USING (workspace_id, metric_key)
QUALIFY row_number() OVER (
    PARTITION BY v.workspace_id, v.metric_key, v.entity_type, v.entity_id
    ORDER BY v.evaluated_at DESC, v.definition_version DESC) = 1;

-- An entity whose latest value lies outside these days counts in its own hour, not in any of these: what an hour
-- holds does not depend on which days share its run. The writers mark every hour of an entity's values stale when
-- its latest value changes: ai/store_evaluations.sql, ingest/replace_events.sql, calibration/store_gates.sql.
-- A newer value was evaluated no earlier than the earliest pick. That bound is set in a variable, a constant the
-- scan uses to skip the row groups of older values (most of the history); a subquery would apply only after the join.
SET VARIABLE earliest_pick = (SELECT min(evaluated_at) FROM latest_values);

DELETE FROM latest_values l
WHERE EXISTS (
    SELECT 1 FROM countable_values('-infinity'::TIMESTAMP, 'infinity'::TIMESTAMP) v
    WHERE v.evaluated_at >= getvariable('earliest_pick')
      AND v.workspace_id = l.workspace_id AND v.metric_key = l.metric_key AND v.entity_type = l.entity_type
      AND v.entity_id = l.entity_id
      AND (v.evaluated_at > l.evaluated_at
           OR (v.evaluated_at = l.evaluated_at AND v.definition_version > l.definition_version))
);

RESET VARIABLE earliest_pick;

-- (single-valued facts are read straight into the grouping; only latest_values, the AI values, is a copy)
INSERT INTO metrics.metric_aggregates
WITH picked AS (
    SELECT v.*
    FROM countable_values($range_start, $range_end) v
    JOIN agg_hours h ON date_trunc('hour', v.occurred_at) = h.period_start
    SEMI JOIN (SELECT workspace_id, metric_key FROM agg_specs WHERE NOT latest_only) s
        USING (workspace_id, metric_key)
    UNION ALL
    SELECT v.* FROM latest_values v JOIN agg_hours h ON date_trunc('hour', v.occurred_at) = h.period_start
),
hour_facts AS (
    SELECT workspace_id, metric_key, source, date_trunc('hour', occurred_at) AS period_start, value_num,
           value_text, value_bool
    FROM picked
    WHERE status = 'ok'
)
SELECT f.workspace_id, f.metric_key, 'hourly', f.period_start, f.source,
       round(CASE any_value(s.aggregation)
           WHEN 'count' THEN count(*)
           WHEN 'sum' THEN exact_sum(f.value_num)
           WHEN 'avg' THEN exact_sum(f.value_num) / count(*)
           WHEN 'min' THEN min(f.value_num)
           WHEN 'max' THEN max(f.value_num)
           WHEN 'count_distinct' THEN count(DISTINCT coalesce(f.value_text, f.value_num::VARCHAR))
           WHEN 'rate' THEN avg(f.value_bool::INTEGER)
       END, 9),
       count(*), $computed_at
FROM hour_facts f
JOIN agg_specs s ON s.workspace_id = f.workspace_id AND s.metric_key = f.metric_key
WHERE s.aggregation <> 'ratio'
GROUP BY f.workspace_id, f.metric_key, f.period_start, f.source;

-- Days roll up from their hours where that is exact: counts, min, max, and a rate from each hour's
-- count of true values (rate × samples, rounded back to the integer it was); sum, avg and
-- count_distinct read the day's facts.
DELETE FROM metrics.metric_aggregates a
USING agg_specs s, agg_days d
WHERE a.granularity = 'daily' AND a.period_start = d.period_start
  AND a.workspace_id = s.workspace_id AND a.metric_key = s.metric_key;

INSERT INTO metrics.metric_aggregates
SELECT a.workspace_id, a.metric_key, 'daily', date_trunc('day', a.period_start) AS day, a.source,
       round(CASE any_value(s.aggregation)
           WHEN 'count' THEN sum(a.value)
           WHEN 'min' THEN min(a.value)
           WHEN 'max' THEN max(a.value)
           WHEN 'rate' THEN sum(round(a.value * a.sample_count)) / sum(a.sample_count)
       END, 9),
       sum(a.sample_count), $computed_at
FROM metrics.metric_aggregates a
JOIN agg_specs s ON s.workspace_id = a.workspace_id AND s.metric_key = a.metric_key
JOIN agg_days d ON date_trunc('day', a.period_start) = d.period_start
WHERE a.granularity = 'hourly' AND s.aggregation IN ('count', 'min', 'max', 'rate')
GROUP BY a.workspace_id, a.metric_key, day, a.source;

INSERT INTO metrics.metric_aggregates
WITH day_specs AS (SELECT * FROM agg_specs WHERE aggregation IN ('sum', 'avg', 'count_distinct')),
picked AS (
    SELECT v.*, s.aggregation
    FROM countable_values($days_start, $days_end) v
    JOIN agg_days d ON date_trunc('day', v.occurred_at) = d.period_start
    JOIN day_specs s ON s.workspace_id = v.workspace_id AND s.metric_key = v.metric_key AND NOT s.latest_only
    UNION ALL
    SELECT v.*, s.aggregation
    FROM latest_values v
    JOIN day_specs s ON s.workspace_id = v.workspace_id AND s.metric_key = v.metric_key
)
SELECT v.workspace_id, v.metric_key, 'daily', date_trunc('day', v.occurred_at) AS day, v.source,
       round(CASE any_value(v.aggregation)
           WHEN 'sum' THEN exact_sum(v.value_num)
           WHEN 'avg' THEN exact_sum(v.value_num) / count(*)
           WHEN 'count_distinct' THEN count(DISTINCT coalesce(v.value_text, v.value_num::VARCHAR))
       END, 9),
       count(*), $computed_at
FROM picked v
WHERE v.status = 'ok'
GROUP BY v.workspace_id, v.metric_key, day, v.source;

-- Ratios: the quotient of two metrics' aggregates for the same period and source; NULL where the
-- denominator is 0 or absent. An absent count/sum/count_distinct numerator is 0.
INSERT INTO metrics.metric_aggregates
WITH periods AS (
    SELECT 'hourly' AS granularity, period_start FROM agg_hours
    UNION ALL SELECT 'daily', period_start FROM agg_days
),
ratio_specs AS (SELECT * FROM agg_specs WHERE aggregation = 'ratio'),
num AS (
    SELECT r.workspace_id, r.metric_key, a.granularity, a.period_start, a.source, a.value
    FROM ratio_specs r
    JOIN metrics.metric_aggregates a ON a.workspace_id = r.workspace_id AND a.metric_key = r.numerator
    JOIN periods p ON p.granularity = a.granularity AND p.period_start = a.period_start
),
den AS (
    SELECT r.workspace_id, r.metric_key, r.numerator_aggregation, a.granularity, a.period_start, a.source,
           a.value, a.sample_count
    FROM ratio_specs r
    JOIN metrics.metric_aggregates a ON a.workspace_id = r.workspace_id AND a.metric_key = r.denominator
    JOIN periods p ON p.granularity = a.granularity AND p.period_start = a.period_start
)
SELECT den.workspace_id, den.metric_key, den.granularity, den.period_start, den.source,
       CASE WHEN den.value IS NULL OR den.value = 0 THEN NULL
            WHEN num.value IS NULL AND den.numerator_aggregation IN ('count', 'sum', 'count_distinct') THEN 0
            ELSE round(num.value / den.value, 9)
       END,
       den.sample_count, $computed_at
FROM den
LEFT JOIN num USING (workspace_id, metric_key, granularity, period_start, source);

DROP TABLE latest_values;
