"""Post-call webhooks: each conversation's post-call record delivered to its workspace's endpoint, signed per
Standard Webhooks, retried across runs, replayable."""
