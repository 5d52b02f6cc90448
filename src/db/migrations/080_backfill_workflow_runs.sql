-- The workflow runs of a backfill (issue 20). A long backfill continues as new every BACKFILL_INTERVALS_PER_WORKFLOW_RUN
-- intervals; each Temporal run of its workflow records here when it started, which intervals it took on, what became
-- of them and how it ended, so that the chain can be read through the API instead of the Temporal UI.

CREATE TABLE batch_export_backfill_workflow_runs (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    backfill_id          uuid NOT NULL REFERENCES batch_export_backfills (id) ON DELETE CASCADE,
    -- Temporal's run id. The workflow writes its row again and again (start, end, activity retries): keyed by it.
    workflow_run_id      text NOT NULL UNIQUE,
    -- Running, then ContinuedAsNew when it handed over to the next run, else the backfill's final status
    -- (Completed, Failed, Cancelled; Terminated or TimedOut when found closed that way in Temporal).
    status               text NOT NULL,
    started_at           timestamptz NOT NULL,
    finished_at          timestamptz,
    -- The intervals the run took on: from the start of its first to the end of its last. NULL when it took on none
    -- (a range without data, or a run closed in Temporal before it recorded anything).
    data_interval_start  timestamptz,
    data_interval_end    timestamptz,
    -- What became of those intervals: exported, not exported (failed or cancelled on their own), not run because a
    -- run had already exported them or was exporting them.
    runs_completed       integer NOT NULL DEFAULT 0,
    runs_failed          integer NOT NULL DEFAULT 0,
    runs_skipped         integer NOT NULL DEFAULT 0,
    latest_error         text,
    last_updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX batch_export_backfill_workflow_runs_backfill_idx
    ON batch_export_backfill_workflow_runs (backfill_id, started_at, id);

ALTER TABLE batch_export_backfills
    -- How many workflow runs the backfill has had so far, and the latest one (Temporal's run id).
    ADD COLUMN workflow_runs_count      integer NOT NULL DEFAULT 0,
    ADD COLUMN current_workflow_run_id  text;
