-- The newest calibration of each (metric, definition version) of a workspace, and each gated version's state.
-- metric_key and definition_version from either side (USING), so that a gated version with no calibration (its
-- labels file missing, its calibration failed) shows its reason; the gate's row as a struct, so that a store
-- published before one of its columns existed reads without it.
SELECT metric_key, definition_version, c.calibration_id, c.labels_path, c.labelled, c.raters, c.model,
       c.created_at, c.figures, g AS gate
FROM (
    SELECT * FROM ops.calibrations
    WHERE workspace_id = $workspace_id
    QUALIFY row_number() OVER (PARTITION BY metric_key, definition_version ORDER BY created_at DESC) = 1
) c
FULL JOIN (SELECT * FROM ops.metric_gates WHERE workspace_id = $workspace_id) g
    USING (metric_key, definition_version)
