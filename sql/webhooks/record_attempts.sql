-- A batch of attempts (the temp table webhook_attempts, one row per delivery) recorded in one transaction:
-- a row of ops.webhook_deliveries each, and the delivery's new state in the outbox.
INSERT INTO ops.webhook_deliveries (delivery_id, webhook_id, workspace_id, conversation_id, url, attempt,
                                    status_code, latency_ms, outcome, error, next_attempt_at, attempted_at)
SELECT delivery_id, webhook_id, workspace_id, conversation_id, url, attempt,
       status_code, latency_ms, outcome, error, next_attempt_at, attempted_at
FROM webhook_attempts;

UPDATE ops.webhook_outbox o
SET state = a.state, attempts = a.attempt, next_attempt_at = a.next_attempt_at, last_status_code = a.status_code,
    last_error = a.error, updated_at = a.attempted_at
FROM webhook_attempts a
WHERE o.delivery_id = a.delivery_id;
