-- Backfill progress and outcome (docs/design.md §7), kept on the one backfill row across continue-as-new.

ALTER TABLE batch_export_backfills
    -- Intervals from adjusted_start_at to end_at; NULL until the backfill has estimated them.
    ADD COLUMN total_runs        integer,
    -- Intervals the backfill did not run because a run of the same interval had already exported it (or was
    -- exporting it). They count as finished: progress = (skipped_runs + its own finished runs) / total_runs.
    ADD COLUMN skipped_runs      integer NOT NULL DEFAULT 0,
    -- [{data_interval_start, data_interval_end, error}] of the intervals whose run failed, set when it finishes.
    ADD COLUMN failed_intervals  jsonb NOT NULL DEFAULT '[]',
    -- Why the backfill failed or was cancelled, in words for the user.
    ADD COLUMN latest_error      text;

-- Overlap and per-team limit checks look at active backfills only.
CREATE INDEX batch_export_backfills_active_idx ON batch_export_backfills (team_id, batch_export_id)
    WHERE status IN ('Starting', 'Running');
