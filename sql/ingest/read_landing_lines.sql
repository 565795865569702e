-- One row per line (JSONL) or row (Parquet) of the files to read; each file keeps its own line numbers.
-- Rendered with one subquery per file; every path is a bound parameter.
CREATE OR REPLACE TEMP TABLE landing_lines AS
{% for f in files %}
{% if not loop.first %}UNION ALL{% endif %}
SELECT ?::VARCHAR AS file, ?::VARCHAR AS folder_source, row_number() OVER () AS line, text
FROM (
{% if f.format == 'parquet' %}
    SELECT to_json(p)::VARCHAR AS text FROM read_parquet(?) p
{% else %}
    SELECT line AS text
    FROM read_csv(?, columns = {'line': 'VARCHAR'}, header = false, delim = chr(1), quote = '', escape = '',
                  auto_detect = false, strict_mode = false, compression = '{{ f.compression }}',
                  max_line_size = 67108864)  -- 64 MiB: a long transcript must not fail the whole read
{% endif %}
)
{% endfor %};
