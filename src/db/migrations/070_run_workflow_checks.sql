-- When the reconciler last asked Temporal whether an active run's workflow still runs. Workers claim the runs
-- checked longest ago (never checked first), so every active run is looked at in turn however many there are.
ALTER TABLE batch_export_runs ADD COLUMN workflow_checked_at timestamptz;

CREATE INDEX batch_export_runs_active_check_idx ON batch_export_runs (workflow_checked_at NULLS FIRST)
    WHERE status IN ('Starting', 'Running');
