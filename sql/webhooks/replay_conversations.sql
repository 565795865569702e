-- The conversations a replay sends again: the given ids, or those whose latest snapshot is in [since, until).
SELECT conversation_id, occurred_at
FROM raw.conversations
WHERE workspace_id = $workspace_id
  AND ($ids IS NULL OR list_contains($ids, conversation_id))
  AND ($since IS NULL OR occurred_at >= $since)
  AND ($until IS NULL OR occurred_at < $until)
ORDER BY occurred_at, conversation_id
