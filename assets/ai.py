"""AI metrics: the hourly fan-out of model evaluations over each hour's 24-hour window."""

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    Config,
    MaterializeResult,
    MetadataValue,
    RetryPolicy,
    asset,
)

from assets.metrics import metric_values
from assets.partitions import hourly_partitions, range_backfill
from assets.resources import MetricStoreResource, is_arrival_run
from assets.windows import markdown_table, run_window
from metricstore.calibration.gate import check_gates
from metricstore.evaluation.pending import AiSettings
from metricstore.evaluation.run import evaluate_window

AI_VALUES_KEY = ["metrics", "ai_metric_values"]


class AiRunConfig(Config):
    """Knobs of one run's AI evaluation (set from the launchpad or `metricstore run`)."""

    max_cost_usd: float | None = None
    concurrency: int = 16
    cap_per_metric: int = 500
    redact: bool = True
    batch: bool = False
    max_error_rate: float = 0.1


@asset(
    key=AI_VALUES_KEY,
    deps=[metric_values],
    group_name="metrics",
    partitions_def=hourly_partitions,
    backfill_policy=range_backfill,
    retry_policy=RetryPolicy(max_retries=2, delay=30),
    kinds={"duckdb", "anthropic"},
    description=(
        "AI metrics (ai_query, ai_classify, ai_extract, ai_sentiment): per hour, the conversations of the 24 h "
        "before the hour's end, at most 500 per metric, not yet evaluated under the metric's version; rows "
        "land in metrics.metric_values, every call in ops.llm_calls. In a run the landing files sensor started, "
        "only workspaces evaluating on arrival, for calls that ended, within 500 per metric per hour partition."
    ),
    check_specs=[
        AssetCheckSpec(
            "error_rate_below_threshold",
            asset=AI_VALUES_KEY,
            description="Failed evaluations stay under the run's max_error_rate.",
        ),
        AssetCheckSpec(
            "calibration_gates_pass",
            asset=AI_VALUES_KEY,
            description="Every AI metric with a calibration gate reaches its minimum agreement; a version below it "
            "is held back (not aggregated, not delivered) until a calibration passes.",
        ),
    ],
)
def ai_metric_values(
    context: AssetExecutionContext, config: AiRunConfig, metricstore: MetricStoreResource
) -> MaterializeResult:
    window = run_window(context)
    catalog = metricstore.catalog()
    settings = AiSettings(
        cap_per_metric=config.cap_per_metric,
        concurrency=config.concurrency,
        max_cost_usd=config.max_cost_usd,
        redact=config.redact,
        batch=config.batch,
        arrival=is_arrival_run(context.run.tags),
    )
    with metricstore.connect() as conn:
        result = evaluate_window(conn, catalog, window, settings=settings, run_id=context.run.run_id)
        gates = check_gates(conn, catalog, metricstore.settings().metric_defs, run_id=context.run.run_id)
    held_back = [g for g in gates if not g.live]
    for gate in held_back:
        context.log.warning(f"{gate.workspace_id}/{gate.metric_key} {gate.definition_version}: {gate.reason}")
    if result.skipped_no_key:
        context.log.warning(
            f"ANTHROPIC_API_KEY is not set: {result.skipped_no_key} evaluations of Claude-tier metrics "
            f"({', '.join(sorted(result.skipped_metrics))}) skipped; free-tier metrics ran."
        )
    if result.skipped_budget:
        context.log.warning(
            f"the run's budget of ${config.max_cost_usd} is spent: {result.skipped_budget} evaluations left for "
            "the next run"
        )
    # the share of evaluations that give a value the aggregates count (not applicable and low confidence do not)
    counted = result.evaluated - result.not_applicable - result.low_confidence
    coverage = counted / result.evaluated if result.evaluated else 1.0
    costs = sorted(((k, round(v, 6)) for k, v in result.cost_by_metric.items()), key=lambda kv: -kv[1])
    return MaterializeResult(
        metadata={
            "window": str(window),
            "pairs_pending": result.pairs_pending,
            "evaluated": result.evaluated,
            "cache_hits": result.cache_hits,
            "failures": result.failures,
            "not_applicable": result.not_applicable,
            "low_confidence": result.low_confidence,
            "coverage": round(coverage, 4),
            "skipped_no_key": result.skipped_no_key,
            "skipped_budget": result.skipped_budget,
            "calls": result.calls,
            "batches_submitted": len(result.batches_submitted),
            "batches_collected": len(result.batches_collected),
            "pairs_in_batches": len(result.batched_pairs),
            "input_tokens": result.input_tokens,
            "cache_creation_input_tokens": result.cache_creation_input_tokens,
            "cache_read_input_tokens": result.cache_read_input_tokens,
            "output_tokens": result.output_tokens,
            "cost_usd": round(result.cost_usd, 6),
            "latency_p50_ms": round(result.latency_ms(0.5), 1),
            "latency_p95_ms": round(result.latency_ms(0.95), 1),
            "cost_by_metric": MetadataValue.md(markdown_table(("metric", "cost (USD)"), costs)),
            "first_errors": MetadataValue.md("\n".join(f"- {e}" for e in result.errors[:10]) or "none"),
        },
        check_results=[
            AssetCheckResult(
                check_name="error_rate_below_threshold",
                passed=result.error_rate <= config.max_error_rate,
                metadata={"error_rate": round(result.error_rate, 4), "threshold": config.max_error_rate},
            ),
            AssetCheckResult(
                check_name="calibration_gates_pass",
                passed=not held_back,
                severity=AssetCheckSeverity.WARN,
                metadata={
                    "gated_versions": len(gates),
                    "held_back": len(held_back),
                    "gates": MetadataValue.md(
                        markdown_table(
                            ("workspace", "metric", "version", "live", "reason"),
                            [(g.workspace_id, g.metric_key, g.definition_version, g.live, g.reason) for g in gates],
                        )
                    ),
                },
            ),
        ],
    )
