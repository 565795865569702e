-- Lines the CSV reader rejected (temp table rejected_lines: file, folder_source, line, reason, text): the reader
-- leaves them out of its rows, so the row numbers after each one are one short. A parsed row numbered n is on
-- line n + (the rejected lines with fewer than n kept lines before them); the rejected lines join as quarantined.
UPDATE {{ table }} p
SET line = p.line + (
    SELECT count(*) FROM (
        SELECT file, line - row_number() OVER (PARTITION BY file ORDER BY line) AS kept_before FROM rejected_lines
    ) r
    WHERE r.file = p.file AND r.kept_before < p.line
)
WHERE p.file IN (SELECT file FROM rejected_lines);

INSERT INTO {{ table }} BY NAME
SELECT file, folder_source, line, left(text, 4000) AS text, reason FROM rejected_lines;

DROP TABLE rejected_lines;
