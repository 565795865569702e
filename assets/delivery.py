"""Post-call webhooks: after the run's values are published, one signed delivery per conversation whose record is
complete and changed, and every earlier delivery whose retry is due (metricstore/webhooks)."""

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    Config,
    MaterializeResult,
    MetadataValue,
    asset,
)

from assets.partitions import hourly_partitions, range_backfill
from assets.resources import MetricStoreResource, is_arrival_run
from assets.serving import published_warehouse
from assets.windows import markdown_table, run_window
from metricstore.published import publish
from metricstore.webhooks.outbox import queue_window
from metricstore.webhooks.sender import SendSettings, deliver_due

WEBHOOKS_KEY = ["delivery", "post_call_webhooks"]


class WebhookRunConfig(Config):
    """How the run sends (set from the launchpad)."""

    concurrency: int = 16
    max_seconds: float = 120.0


@asset(
    key=WEBHOOKS_KEY,
    # after publishing: a receiver that calls GET /api/v1/call/get-metric on a delivery reads the same values
    deps=[published_warehouse],
    group_name="delivery",
    partitions_def=hourly_partitions,
    backfill_policy=range_backfill,
    kinds={"duckdb"},
    description="Post-call webhooks: per hour of the run, the conversations of its 24-hour window whose metrics "
    "are all in and whose post-call record changed are queued in ops.webhook_outbox; then every due delivery "
    "(these, and retries of earlier failures) is signed (Standard Webhooks) and sent, each attempt a row of "
    "ops.webhook_deliveries.",
    check_specs=[
        AssetCheckSpec(
            "required_metrics_delivered",
            asset=WEBHOOKS_KEY,
            description="Every delivery queued by the run carries a value for each metric marked is_required "
            "(one without is delivered anyway, with its schema, and counted here).",
        )
    ],
)
def post_call_webhooks(
    context: AssetExecutionContext, config: WebhookRunConfig, metricstore: MetricStoreResource
) -> MaterializeResult:
    window = run_window(context)
    catalog = metricstore.catalog()
    settings = SendSettings(concurrency=config.concurrency, max_seconds=config.max_seconds)
    with metricstore.connect() as conn:
        queued = queue_window(conn, catalog, window, arrival=is_arrival_run(context.run.tags))
        sent = deliver_due(conn, catalog, settings=settings)
        if queued.queued or sent.attempted:
            publish(conn, metricstore.settings().published)  # `metricstore webhooks status` reads the snapshot
    for reason in sent.disabled:
        context.log.warning(f"webhook endpoint disabled: {reason}")
    missing = sorted(queued.missing_required.items(), key=lambda kv: (-kv[1], kv[0]))
    latencies = sorted(sent.latencies_ms)
    return MaterializeResult(
        metadata={
            "window": str(window),
            "queued": queued.queued,
            "unchanged": queued.unchanged,
            "waiting_for_ai": queued.waiting,
            "superseded": queued.superseded,
            "attempted": sent.attempted,
            "delivered": sent.delivered,
            "failed_will_retry": sent.failed,
            "dead": sent.dead,
            "refused_by_ssrf_guard": sent.refused,
            "deferred": sent.deferred,
            "held_endpoint_disabled": sent.held,
            "send_seconds": round(sent.seconds, 3),
            "latency_p50_ms": round(latencies[len(latencies) // 2], 1) if latencies else 0.0,
            "missing_required": sum(queued.missing_required.values()),
            "errors": MetadataValue.md(markdown_table(("error", "attempts"), sent.errors.most_common(10))),
        },
        check_results=[
            AssetCheckResult(
                check_name="required_metrics_delivered",
                passed=not missing,
                severity=AssetCheckSeverity.WARN,
                metadata={
                    "deliveries_missing_a_required_metric": sum(queued.missing_required.values()),
                    "by_metric": MetadataValue.md(markdown_table(("metric", "deliveries"), missing)),
                },
            )
        ],
    )
