-- The latest snapshots of the given conversations (post-call records built for several at once).
SELECT conversation_id, occurred_at, data
FROM raw.conversations
WHERE workspace_id = $workspace_id AND list_contains($conversation_ids, conversation_id)
