"""What ``metricstore webhooks status`` shows: per workspace, its endpoint's health and its deliveries by state."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import duckdb

from metricstore.catalog_loader import MetricCatalog
from metricstore.windows import utc_now


@dataclass(frozen=True)
class WorkspaceWebhookStatus:
    """One workspace's webhook: settings, endpoint health, deliveries by state."""

    workspace_id: str
    url: str | None
    setting: str  # enabled | disabled in settings | not configured
    endpoint: str  # active | disabled (by a 410 or days of failures) | -
    reason: str | None  # why the endpoint is disabled
    due_now: int  # pending and due: the next run or `deliver` sends them
    retrying: int  # pending after failed attempts, due later
    dead: int  # exhausted their retries: `replay` sends them again
    delivered_24h: int
    last_success_at: datetime | None
    next_attempt_at: datetime | None
    last_error: str | None

    def as_dict(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in asdict(self).items()}


def webhook_status(
    conn: duckdb.DuckDBPyConnection, catalog: MetricCatalog, *, now: datetime | None = None
) -> list[WorkspaceWebhookStatus]:
    """Every workspace with a webhook configured or with deliveries on record, by workspace id."""
    now = now or utc_now()
    counts = {
        row[0]: row[1:]
        for row in conn.execute(
            "SELECT workspace_id, "
            "  count(*) FILTER (WHERE state = 'pending' AND next_attempt_at <= $now), "
            "  count(*) FILTER (WHERE state = 'pending' AND next_attempt_at > $now), "
            "  count(*) FILTER (WHERE state = 'dead'), "
            "  count(*) FILTER (WHERE state = 'delivered' AND updated_at >= $since), "
            "  min(next_attempt_at) FILTER (WHERE state = 'pending'), "
            "  arg_max(last_error, updated_at) FILTER (WHERE last_error IS NOT NULL AND state IN ('pending', 'dead')) "
            "FROM ops.webhook_outbox GROUP BY workspace_id",
            {"now": now, "since": now - timedelta(hours=24)},
        ).fetchall()
    }
    endpoints = {
        (ws, url): (state, reason, last_success)
        for ws, url, state, reason, last_success in conn.execute(
            "SELECT workspace_id, url, state, reason, last_success_at FROM ops.webhook_endpoints"
        ).fetchall()
    }
    statuses = []
    for ws in sorted(set(counts) | {w for w in catalog.workspaces if catalog.settings_for(w).webhook}):
        webhook = catalog.settings_for(ws).webhook
        url = webhook.url if webhook else None
        state, reason, last_success = endpoints.get((ws, url or ""), ("active" if webhook else "-", None, None))
        due, retrying, dead, delivered, next_at, last_error = counts.get(ws, (0, 0, 0, 0, None, None))
        setting = "not configured" if webhook is None else "enabled" if webhook.enabled else "disabled in settings"
        statuses.append(
            WorkspaceWebhookStatus(
                workspace_id=ws,
                url=url,
                setting=setting,
                endpoint=state,
                reason=reason,
                due_now=due,
                retrying=retrying,
                dead=dead,
                delivered_24h=delivered,
                last_success_at=last_success,
                next_attempt_at=next_at,
                last_error=last_error,
            )
        )
    return statuses
