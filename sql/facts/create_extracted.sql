-- Raw JSON values per (metric, entity) of the window, filled by one extract_static.sql pass per source.
CREATE OR REPLACE TEMP TABLE extracted (
    workspace_id VARCHAR, event_type VARCHAR, entity_type VARCHAR, entity_id VARCHAR, session_id VARCHAR,
    service_id VARCHAR, channel VARCHAR, direction VARCHAR, is_simulation BOOLEAN, occurred_at TIMESTAMP,
    metric_key VARCHAR, metric_type VARCHAR, definition_version VARCHAR, is_required BOOLEAN,
    valid_range_min DOUBLE, valid_range_max DOUBLE, j JSON
);
