-- Quarantine and the file index are keyed by file: re-reading a file replaces what it said before.
DELETE FROM ops.quarantine WHERE file IN (SELECT DISTINCT file FROM read_files);

INSERT INTO ops.quarantine
SELECT file, line, folder_source, reason, left(text, 4000), $now
FROM parsed_lines
WHERE reason IS NOT NULL
ORDER BY file, line;

INSERT OR REPLACE INTO ops.landing_files
SELECT f.file, f.source, f.size_bytes, f.modified_at,
       coalesce(s.lines, 0), coalesce(s.valid_events, 0), coalesce(s.quarantined, 0),
       s.min_occurred_at, s.max_occurred_at, $now
FROM read_files f
LEFT JOIN (
    SELECT file, count(*) AS lines, count(*) FILTER (reason IS NULL) AS valid_events,
           count(*) FILTER (reason IS NOT NULL) AS quarantined,
           min(occurred_at) FILTER (reason IS NULL) AS min_occurred_at,
           max(occurred_at) FILTER (reason IS NULL) AS max_occurred_at
    FROM parsed_lines GROUP BY file
) s USING (file);
