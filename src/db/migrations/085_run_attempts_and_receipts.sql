-- While a run retries, it shows which attempt failed and when the next one starts (latest_error says why); a
-- finished run keeps its completeness receipt: source rows, files with sizes and SHA-256s (docs/notes/
-- issue-11-repair-receipts.md). Both are nullable: runs recorded before this migration have neither.
ALTER TABLE batch_export_runs
    ADD COLUMN attempt          integer,
    ADD COLUMN next_attempt_at  timestamptz,
    ADD COLUMN receipt          jsonb;

-- Freshness walks an export's completed intervals in order.
CREATE INDEX IF NOT EXISTS batch_export_runs_completed_idx ON batch_export_runs (batch_export_id, data_interval_end)
    WHERE status = 'Completed';
