-- A backfill row is committed before its workflow is started (unpause-with-backfill commits it with the unpause, in
-- one transaction). These columns let the reconciler start a workflow that a crash between the commit and the start
-- never started: with the same input, so it needs to know whether completed intervals are exported again.

ALTER TABLE batch_export_backfills
    ADD COLUMN reexport_completed boolean NOT NULL DEFAULT false,
    -- When its workflow was started; null = reserved but not started yet.
    ADD COLUMN workflow_started_at timestamptz;

-- Every backfill stored before this migration had its workflow started (or its row deleted) by the request.
UPDATE batch_export_backfills SET workflow_started_at = created_at;

-- What the reconciler looks for: few rows, so a partial index.
CREATE INDEX batch_export_backfills_unstarted_idx ON batch_export_backfills (created_at)
    WHERE workflow_started_at IS NULL AND status = 'Starting';
