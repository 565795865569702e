-- The warehouse schema: the one place that knows it (CONTRACT §5). Every statement is idempotent.
-- All timestamps are UTC, stored as TIMESTAMP.
CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS metrics;
CREATE SCHEMA IF NOT EXISTS ops;

-- Every valid event, owned by the hourly partition of its occurred_at.
CREATE TABLE IF NOT EXISTS raw.events (
    event_id         VARCHAR NOT NULL,
    source           VARCHAR NOT NULL,
    event_type       VARCHAR NOT NULL,
    workspace_id     VARCHAR NOT NULL,
    occurred_at      TIMESTAMP NOT NULL,
    session_id       VARCHAR,
    service_id       VARCHAR,
    channel          VARCHAR NOT NULL,
    direction        VARCHAR,
    is_simulation    BOOLEAN NOT NULL,
    conversation_id  VARCHAR,          -- data.id of call_intelligence rows
    snapshot_version BIGINT,           -- data.snapshot_version of call_intelligence rows
    data             JSON NOT NULL,
    file             VARCHAR NOT NULL,
    line             BIGINT NOT NULL,
    ingested_at      TIMESTAMP NOT NULL
);

-- What each landing file held the last time it was read: lets an hourly run skip files outside its window.
CREATE TABLE IF NOT EXISTS ops.landing_files (
    file             VARCHAR PRIMARY KEY,
    source           VARCHAR NOT NULL,
    size_bytes       BIGINT NOT NULL,
    modified_at      DOUBLE NOT NULL,
    lines            BIGINT NOT NULL,
    valid_events     BIGINT NOT NULL,
    quarantined      BIGINT NOT NULL,
    min_occurred_at  TIMESTAMP,
    max_occurred_at  TIMESTAMP,
    read_at          TIMESTAMP NOT NULL
);

-- Every valid delivery of every landing file read (its events in all hours): one event_id is one event across
-- hours and run orders, the first delivery by (occurred_at, file, line) wins (metricstore/ingest.py).
CREATE TABLE IF NOT EXISTS ops.event_deliveries (
    event_id         VARCHAR NOT NULL,
    occurred_at      TIMESTAMP NOT NULL,
    file             VARCHAR NOT NULL,
    line             BIGINT NOT NULL,
    content_hash     UBIGINT NOT NULL   -- of the parsed envelope and data: tells a resent event from a clash
);

-- Rejected input: a line (line >= 1) or a whole file (line 0: unreadable, or a type that is not read).
CREATE TABLE IF NOT EXISTS ops.quarantine (
    file             VARCHAR NOT NULL,
    line             BIGINT NOT NULL,
    source           VARCHAR NOT NULL,
    reason           VARCHAR NOT NULL,
    raw_line         VARCHAR,
    quarantined_at   TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS metrics.metric_definitions (
    workspace_id       VARCHAR,          -- NULL for built-ins
    metric_key         VARCHAR NOT NULL,
    builtin            BOOLEAN NOT NULL,
    name               VARCHAR NOT NULL,
    description        VARCHAR,
    metric_type        VARCHAR NOT NULL,
    source             VARCHAR NOT NULL,
    extraction_mode    VARCHAR,
    model_tier         VARCHAR NOT NULL,
    aggregation        VARCHAR NOT NULL,
    unit               VARCHAR,
    period_granularity VARCHAR NOT NULL,
    channel_scope      VARCHAR NOT NULL,
    valid_range_min    DOUBLE,
    valid_range_max    DOUBLE,
    is_required        BOOLEAN NOT NULL,
    active             BOOLEAN NOT NULL,
    definition_version VARCHAR NOT NULL,
    definition         JSON NOT NULL,
    file               VARCHAR NOT NULL
);

-- The closed vocabularies of metrics.metric_values, as ENUMs: a value is stored in one byte instead of a string
-- repeated on every row (a third of the cost of writing a million conversations' values). They read, compare
-- and filter as strings (`status = 'ok'`); a value outside the list is refused on insert. CREATE TYPE IF NOT
-- EXISTS keeps a type that exists: a value added here later needs a migration for existing warehouses.
CREATE TYPE IF NOT EXISTS metric_type_t AS ENUM ('numerical', 'categorical', 'boolean', 'text', 'list');
CREATE TYPE IF NOT EXISTS entity_type_t AS ENUM ('conversation', 'event');
CREATE TYPE IF NOT EXISTS channel_t AS ENUM ('voice', 'text', 'surface');
CREATE TYPE IF NOT EXISTS direction_t AS ENUM ('inbound', 'outbound');
CREATE TYPE IF NOT EXISTS value_source_t AS ENUM ('production', 'simulation');
CREATE TYPE IF NOT EXISTS value_status_t AS ENUM (
    'ok', 'out_of_range', 'missing', 'invalid', 'not_applicable', 'low_confidence'
);

-- One row per metric, entity and definition version.
CREATE TABLE IF NOT EXISTS metrics.metric_values (
    workspace_id       VARCHAR NOT NULL,
    metric_key         VARCHAR NOT NULL,
    metric_type        metric_type_t NOT NULL,
    entity_type        entity_type_t NOT NULL,   -- 'conversation' (call_intelligence) or 'event'
    entity_id          VARCHAR NOT NULL,
    session_id         VARCHAR,
    service_id         VARCHAR,
    channel            channel_t,
    direction          direction_t,
    source             value_source_t NOT NULL,  -- 'production' or 'simulation'
    occurred_at        TIMESTAMP NOT NULL,
    value_num          DOUBLE,
    value_text         VARCHAR,
    value_bool         BOOLEAN,
    value_list         VARCHAR[],
    status             value_status_t NOT NULL,  -- ok | out_of_range | missing | invalid | not_applicable (AI)
                                                 -- | low_confidence (AI, below the definition's min_confidence)
    rationale          VARCHAR,
    model              VARCHAR,
    input_tokens       BIGINT,
    output_tokens      BIGINT,
    cost_usd           DOUBLE,
    definition_version VARCHAR NOT NULL,
    evaluated_at       TIMESTAMP NOT NULL
);

-- One row per metric, granularity, period and source.
CREATE TABLE IF NOT EXISTS metrics.metric_aggregates (
    workspace_id  VARCHAR NOT NULL,
    metric_key    VARCHAR NOT NULL,
    granularity   VARCHAR NOT NULL,        -- 'hourly' | 'daily'
    period_start  TIMESTAMP NOT NULL,
    source        VARCHAR NOT NULL,        -- 'production' | 'simulation'
    value         DOUBLE,
    sample_count  BIGINT NOT NULL,
    computed_at   TIMESTAMP NOT NULL
);

-- Hours whose aggregates a later snapshot made stale (its conversation moved to a later hour).
CREATE TABLE IF NOT EXISTS ops.stale_periods (
    workspace_id  VARCHAR NOT NULL,
    period_start  TIMESTAMP NOT NULL
);

-- Every model call: one row per call (a call answers all pending metrics of one conversation and tier).
CREATE TABLE IF NOT EXISTS ops.llm_calls (
    call_id            VARCHAR NOT NULL,
    run_id             VARCHAR,
    workspace_id       VARCHAR NOT NULL,
    conversation_id    VARCHAR NOT NULL,
    metric_keys        VARCHAR[] NOT NULL,
    model              VARCHAR NOT NULL,
    model_tier         VARCHAR NOT NULL,
    mode               VARCHAR NOT NULL,   -- realtime | batch
    batch_id           VARCHAR,
    input_tokens       BIGINT,
    cache_creation_input_tokens BIGINT,
    cache_read_input_tokens     BIGINT,
    output_tokens      BIGINT,
    cost_usd           DOUBLE,
    latency_ms         DOUBLE,
    attempts           INTEGER,
    outcome            VARCHAR NOT NULL,   -- ok | retried_answer | error | budget_exhausted | interrupted
    error              VARCHAR,
    called_at          TIMESTAMP NOT NULL
);

-- Post-call webhooks (metricstore/webhooks). A message is one conversation's post-call record as signed and sent:
-- its webhook_id (the `webhook-id` header) is the same for every attempt and changes when the content does.
CREATE TABLE IF NOT EXISTS ops.webhook_messages (
    webhook_id       VARCHAR NOT NULL,
    workspace_id     VARCHAR NOT NULL,
    conversation_id  VARCHAR NOT NULL,
    content_hash     VARCHAR NOT NULL,   -- sha256 of body
    body             VARCHAR NOT NULL,   -- the JSON sent, byte for byte
    created_at       TIMESTAMP NOT NULL
);
-- One row per delivery of a message (a run's new values, or a replay), with its state; attempts are below.
CREATE TABLE IF NOT EXISTS ops.webhook_outbox (
    delivery_id      VARCHAR NOT NULL,
    webhook_id       VARCHAR NOT NULL,
    workspace_id     VARCHAR NOT NULL,
    conversation_id  VARCHAR NOT NULL,
    seq              INTEGER NOT NULL,   -- 1, 2, … per conversation: the newest delivery is the highest
    conversation_at  TIMESTAMP NOT NULL, -- the snapshot's occurred_at (replay --since/--until select on it)
    fingerprint      UBIGINT,            -- of what the record was built from: "nothing changed" without a rebuild
    missing_required VARCHAR[] NOT NULL, -- required metrics delivered without a value
    reason           VARCHAR NOT NULL,   -- run | replay
    state            VARCHAR NOT NULL,   -- pending | delivered | dead | superseded
    attempts         INTEGER NOT NULL,
    next_attempt_at  TIMESTAMP,          -- a pending delivery is sent by the first run or `deliver` after this
    last_status_code INTEGER,
    last_error       VARCHAR,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);
-- Every attempt to send a delivery.
CREATE TABLE IF NOT EXISTS ops.webhook_deliveries (
    delivery_id      VARCHAR NOT NULL,
    webhook_id       VARCHAR,
    workspace_id     VARCHAR NOT NULL,
    conversation_id  VARCHAR NOT NULL,
    url              VARCHAR NOT NULL,
    attempt          INTEGER NOT NULL,
    status_code      INTEGER,
    latency_ms       DOUBLE,
    outcome          VARCHAR NOT NULL,   -- delivered | failed | refused (SSRF guard) | gone (410)
    error            VARCHAR,
    next_attempt_at  TIMESTAMP,          -- when a failed delivery is due again (NULL: delivered or dead)
    attempted_at     TIMESTAMP NOT NULL
);
ALTER TABLE ops.webhook_deliveries ADD COLUMN IF NOT EXISTS webhook_id VARCHAR;
ALTER TABLE ops.webhook_deliveries ADD COLUMN IF NOT EXISTS latency_ms DOUBLE;
ALTER TABLE ops.webhook_deliveries ADD COLUMN IF NOT EXISTS next_attempt_at TIMESTAMP;
-- Each workspace endpoint's health: disabled by a 410, or after failing without a success for days.
CREATE TABLE IF NOT EXISTS ops.webhook_endpoints (
    workspace_id     VARCHAR NOT NULL,
    url              VARCHAR NOT NULL,
    state            VARCHAR NOT NULL,   -- active | disabled
    reason           VARCHAR,
    failing_since    TIMESTAMP,          -- the first failure since the last success
    last_success_at  TIMESTAMP,
    updated_at       TIMESTAMP NOT NULL
);

-- The latest aggregate of each metric, at the metric's own granularity, per source.
CREATE OR REPLACE VIEW metrics.metric_latest AS
SELECT a.workspace_id, a.metric_key, d.name, d.unit, a.granularity, a.period_start, a.source,
       a.value, a.sample_count, a.computed_at
FROM metrics.metric_aggregates a
JOIN metrics.metric_definitions d
  ON d.metric_key = a.metric_key AND (d.workspace_id = a.workspace_id OR d.builtin)
 AND d.period_granularity = a.granularity
QUALIFY row_number() OVER (PARTITION BY a.workspace_id, a.metric_key, a.source ORDER BY a.period_start DESC) = 1;

-- The daily series of every metric.
CREATE OR REPLACE VIEW metrics.metric_trend AS
SELECT workspace_id, metric_key, period_start::DATE AS day, source, value, sample_count
FROM metrics.metric_aggregates
WHERE granularity = 'daily';

-- Every definition, built-in and custom, with its version.
CREATE OR REPLACE VIEW metrics.metric_catalog AS
SELECT workspace_id, metric_key, builtin, name, description, metric_type, source, extraction_mode,
       model_tier, aggregation, unit, period_granularity, channel_scope, valid_range_min, valid_range_max,
       is_required, active, definition_version, definition
FROM metrics.metric_definitions;

-- Added for AI metrics: columns and tables created on existing warehouses too.
ALTER TABLE metrics.metric_values ADD COLUMN IF NOT EXISTS evidence VARCHAR[];
ALTER TABLE metrics.metric_values ADD COLUMN IF NOT EXISTS ungrounded_evidence VARCHAR[];
ALTER TABLE metrics.metric_values ADD COLUMN IF NOT EXISTS cache_creation_input_tokens BIGINT;
ALTER TABLE metrics.metric_values ADD COLUMN IF NOT EXISTS cache_read_input_tokens BIGINT;
-- How sure the evaluator was of an AI value, in [0, 1] (NULL: it does not say).
ALTER TABLE metrics.metric_values ADD COLUMN IF NOT EXISTS confidence DOUBLE;

-- Content-addressed answers: (conversation content, definition version, model) → evaluation.
-- AI evaluations stored by the runs of each hour partition, per workspace and metric: for a workspace evaluating
-- on arrival, what the hour's budget (cap_per_metric) has spent. Written with the values, in one transaction.
CREATE TABLE IF NOT EXISTS ops.ai_spend (
    workspace_id  VARCHAR NOT NULL,
    metric_key    VARCHAR NOT NULL,
    hour          TIMESTAMP NOT NULL,
    evaluations   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, metric_key, hour)
);

CREATE TABLE IF NOT EXISTS ops.llm_cache (
    cache_key          VARCHAR PRIMARY KEY,
    metric_key         VARCHAR NOT NULL,
    definition_version VARCHAR NOT NULL,
    model              VARCHAR NOT NULL,
    evaluation         JSON NOT NULL,
    created_at         TIMESTAMP NOT NULL
);

-- Message batches submitted for backfills, collected by later runs.
CREATE TABLE IF NOT EXISTS ops.llm_batches (
    batch_id      VARCHAR PRIMARY KEY,
    run_id        VARCHAR,
    model         VARCHAR NOT NULL,
    model_tier    VARCHAR NOT NULL,
    requests      INTEGER NOT NULL,
    status        VARCHAR NOT NULL,       -- in_progress | ended | collected
    submitted_at  TIMESTAMP NOT NULL,
    collected_at  TIMESTAMP
);

CREATE TABLE IF NOT EXISTS ops.llm_batch_requests (
    batch_id        VARCHAR NOT NULL,
    custom_id       VARCHAR NOT NULL,
    workspace_id    VARCHAR NOT NULL,
    conversation_id VARCHAR NOT NULL,
    metric_keys     VARCHAR[] NOT NULL,
    definition_versions VARCHAR[] NOT NULL,
    collected       BOOLEAN NOT NULL
);

-- Each conversation as its latest call_intelligence snapshot (later occurred_at, then higher snapshot_version):
-- what on-demand evaluation and the post-call record read. Published for readers like metric_values.
CREATE OR REPLACE VIEW raw.conversations AS
SELECT workspace_id, conversation_id, event_id, session_id, service_id, channel, direction, is_simulation,
       occurred_at, snapshot_version, data
FROM raw.events
WHERE conversation_id IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY workspace_id, conversation_id
                           ORDER BY occurred_at DESC, snapshot_version DESC NULLS LAST, event_id DESC) = 1;

-- Publishing (metricstore/published.py): days whose metric values or conversations changed since the last
-- publish (written by the aggregate step in the same transaction), and the Parquet parts readers see.
CREATE TABLE IF NOT EXISTS ops.publish_pending (
    day  DATE PRIMARY KEY
);
CREATE TABLE IF NOT EXISTS ops.published_parts (
    relation       VARCHAR NOT NULL,     -- metrics.metric_values | raw.conversations
    day            DATE NOT NULL,
    path           VARCHAR,              -- NULL: the day has no rows
    rows           BIGINT NOT NULL,
    bytes          BIGINT NOT NULL,
    published_at   TIMESTAMP NOT NULL,
    superseded_at  TIMESTAMP             -- NULL while current
);

-- Calibration (metricstore/calibration): one row per calibration of a metric's definition version against a labels
-- file; figures are JSON {name: {value, low, high, n}} (bootstrap 95 % intervals).
CREATE TABLE IF NOT EXISTS ops.calibrations (
    calibration_id     VARCHAR PRIMARY KEY,
    workspace_id       VARCHAR NOT NULL,
    metric_key         VARCHAR NOT NULL,
    metric_type        VARCHAR NOT NULL,
    definition_version VARCHAR NOT NULL,
    model              VARCHAR NOT NULL,
    labels_path        VARCHAR NOT NULL,
    labels_digest      VARCHAR NOT NULL,   -- sha256 of the labels file: the gate asks for a calibration on these
    labelled           INTEGER NOT NULL,   -- conversations with a usable label
    raters             INTEGER NOT NULL,
    refused_lines      INTEGER NOT NULL,
    unknown_conversations INTEGER NOT NULL,
    errors             INTEGER NOT NULL,
    figures            JSON NOT NULL,
    ceiling            JSON NOT NULL,      -- the raters' agreement with each other ({} with one rater)
    confusion          JSON NOT NULL,
    calls              INTEGER NOT NULL,
    cached             INTEGER NOT NULL,
    cost_usd           DOUBLE NOT NULL,
    created_at         TIMESTAMP NOT NULL
);
-- The calibration gate: per gated metric version, whether it is live (its values aggregated and delivered) and why.
-- Rewritten by each run; a version that changes state has its hours recomputed.
CREATE TABLE IF NOT EXISTS ops.metric_gates (
    workspace_id       VARCHAR NOT NULL,
    metric_key         VARCHAR NOT NULL,
    definition_version VARCHAR NOT NULL,
    live               BOOLEAN NOT NULL,
    reason             VARCHAR NOT NULL,
    measure            VARCHAR NOT NULL,
    minimum            DOUBLE NOT NULL,
    value              DOUBLE,             -- the calibration's figure (NULL: not calibrated yet)
    calibration_id     VARCHAR,
    checked_at         TIMESTAMP NOT NULL
);
-- The gate as it was checked (its settings as JSON): readers show the verdict only while the definition's gate is
-- the same, since a new labels file, minimum or measure keeps the version (NULL: checked before this column).
ALTER TABLE ops.metric_gates ADD COLUMN IF NOT EXISTS gate_settings VARCHAR;
