-- One event_id is one event: of its deliveries (ops.event_deliveries, every file read, every hour; those of the
-- events this run touches are in touched_deliveries) the first by
-- (occurred_at, file, line) wins, whatever the order runs came in. Later deliveries with other content are
-- recorded; the same content delivered again is a silent duplicate (counted by the run).
CREATE OR REPLACE TEMP TABLE event_winners AS
SELECT event_id,
       arg_min(
           {'file': file, 'line': line, 'occurred_at': occurred_at, 'content_hash': content_hash},
           (occurred_at, file, line)
       ) AS first
FROM touched_deliveries
GROUP BY event_id;

INSERT INTO ops.quarantine
SELECT d.file, d.line, f.source,
       'duplicate event_id with different content (first in ' || w.first.file || ':' || w.first.line || ')',
       NULL, $now
FROM touched_deliveries d
JOIN event_winners w USING (event_id)
JOIN ops.landing_files f ON f.file = d.file
WHERE d.content_hash <> w.first.content_hash
ORDER BY d.file, d.line;
