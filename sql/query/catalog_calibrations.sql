-- The newest calibration of each (metric, definition version) of a workspace, and each gated version's state.
SELECT c.metric_key, c.definition_version, c.calibration_id, c.labels_path, c.labelled, c.raters, c.model,
       c.created_at, c.figures, g.live AS gate_live, g.reason AS gate_reason, g.measure AS gate_measure,
       g.minimum AS gate_minimum, g.value AS gate_value
FROM (
    SELECT * FROM ops.calibrations
    WHERE workspace_id = $workspace_id
    QUALIFY row_number() OVER (PARTITION BY metric_key, definition_version ORDER BY created_at DESC) = 1
) c
FULL JOIN (SELECT * FROM ops.metric_gates WHERE workspace_id = $workspace_id) g
    USING (metric_key, definition_version)
