-- Included in a WHERE clause: the snapshot `c` says its call ended: it has an `endTime`, or a `status` that only
-- an ended call has. (A run started by arriving files evaluates these on arrival; the hourly run takes every
-- conversation, ended or not.)
(c.data ->> '$.endTime' IS NOT NULL
 OR lower(c.data ->> '$.status') IN (
     'completed', 'complete', 'ended', 'finished', 'done', 'failed', 'canceled', 'cancelled', 'no-answer',
     'no_answer', 'busy', 'missed', 'abandoned', 'voicemail', 'escalated', 'transferred'))
