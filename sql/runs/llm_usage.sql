-- Tokens and dollars of one run's model calls (the run summary of `metricstore run`). $1: run id.
SELECT coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0), coalesce(sum(cost_usd), 0)
FROM ops.llm_calls
WHERE run_id = $1;
