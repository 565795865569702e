-- What this run learnt about its files: the quarantine (keyed by file: re-reading a file replaces what it said
-- before), the file index, and the deliveries index. Temp tables: read_files, unreadable_files (recorded at
-- line 0, no events: read again only once they change), removed_files (gone from the landing folder). It leaves
-- touched_ids and touched_deliveries (every delivery of those ids, after this run) for the scripts that follow.

-- the files whose deliveries this run replaces: those read again and those removed (a new file has none, and
-- leaving it out lets the scan of the index be skipped in the usual hour, which reads only new files)
CREATE OR REPLACE TEMP TABLE replaced_files AS
SELECT file FROM ops.landing_files
WHERE file IN (SELECT file FROM read_files UNION ALL SELECT file FROM removed_files);

-- the event_ids whose deliveries this run changes (before the deliveries index is replaced)
CREATE OR REPLACE TEMP TABLE touched_ids AS
SELECT event_id FROM ops.event_deliveries WHERE file IN (SELECT file FROM replaced_files)
UNION
SELECT event_id FROM parsed_lines WHERE reason IS NULL;

-- their deliveries before this run, read from the index once
CREATE OR REPLACE TEMP TABLE previous_deliveries AS
SELECT d.* FROM ops.event_deliveries d SEMI JOIN touched_ids t USING (event_id);

-- their duplicate records are written again below (duplicates.sql), whichever file they are in
DELETE FROM ops.quarantine q
USING previous_deliveries d
WHERE q.file = d.file AND q.line = d.line AND q.reason LIKE 'duplicate event_id %';

DELETE FROM ops.quarantine
WHERE file IN (SELECT file FROM read_files UNION ALL SELECT file FROM removed_files);

INSERT INTO ops.quarantine
SELECT file, line, folder_source, reason, left(text, 4000), $now
FROM parsed_lines
WHERE reason IS NOT NULL
ORDER BY file, line;

INSERT INTO ops.quarantine
SELECT DISTINCT file, 0, source, reason, NULL, $now FROM unreadable_files ORDER BY file;

INSERT OR REPLACE INTO ops.landing_files
SELECT f.file, f.source, f.size_bytes, f.modified_at,
       coalesce(s.lines, 0), coalesce(s.valid_events, 0),
       coalesce(s.quarantined, 0) + CASE WHEN u.file IS NULL THEN 0 ELSE 1 END,
       s.min_occurred_at, s.max_occurred_at, $now
FROM read_files f
LEFT JOIN (
    SELECT file, count(*) AS lines, count(*) FILTER (reason IS NULL) AS valid_events,
           count(*) FILTER (reason IS NOT NULL) AS quarantined,
           min(occurred_at) FILTER (reason IS NULL) AS min_occurred_at,
           max(occurred_at) FILTER (reason IS NULL) AS max_occurred_at
    FROM parsed_lines GROUP BY file
) s USING (file)
LEFT JOIN (SELECT DISTINCT file FROM unreadable_files) u USING (file);

DELETE FROM ops.landing_files WHERE file IN (SELECT file FROM removed_files);

CREATE OR REPLACE TEMP TABLE new_deliveries AS
SELECT DISTINCT event_id, occurred_at, file, line, content_hash  -- DISTINCT: a file reached twice (symlinks)
FROM parsed_lines
WHERE reason IS NULL;

DELETE FROM ops.event_deliveries WHERE file IN (SELECT file FROM replaced_files);

INSERT INTO ops.event_deliveries SELECT * FROM new_deliveries;

-- the touched events' deliveries as the index now holds them (duplicates.sql needs no other)
CREATE OR REPLACE TEMP TABLE touched_deliveries AS
SELECT * FROM previous_deliveries WHERE file NOT IN (SELECT file FROM replaced_files)
UNION ALL
SELECT * FROM new_deliveries;

DROP TABLE previous_deliveries;
DROP TABLE new_deliveries;
DROP TABLE replaced_files;
