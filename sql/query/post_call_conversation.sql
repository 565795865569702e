-- The conversation a post-call record is about: its latest snapshot, picked by call id and/or agent and contact
-- (the most recent one when several match). `filters` are allow-listed conditions; values are bound.
SELECT conversation_id, occurred_at, data
FROM raw.conversations
WHERE workspace_id = $workspace_id
{%- for condition in filters %}
  AND {{ condition }}
{%- endfor %}
ORDER BY occurred_at DESC, conversation_id DESC
LIMIT 1
