-- What an insert attempt has durably written, kept where a SIGKILLed worker cannot lose it. A retried attempt
-- continues from here rather than from the last heartbeat that reached Temporal: the SDK sends at most one heartbeat
-- per 0.8 x heartbeat timeout, so the server's copy can be many parts or batches behind.

CREATE TABLE batch_export_run_progress (
    run_id      uuid PRIMARY KEY REFERENCES batch_export_runs (id) ON DELETE CASCADE,
    -- The destination's own document. S3: the finished files and the row cursor after them. Postgres: the cursor,
    -- records and bytes of the last committed batch.
    progress    jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- The parts of a run's unfinished S3 upload, each recorded before it is sent. A part S3 holds with the recorded
-- content (ETag) is durable whether or not the attempt lived to see the response: a crash redoes at most one part.
CREATE TABLE batch_export_s3_parts (
    run_id       uuid NOT NULL REFERENCES batch_export_runs (id) ON DELETE CASCADE,
    upload_id    text NOT NULL,
    object_key   text NOT NULL,
    part_number  integer NOT NULL,
    size         bigint NOT NULL,
    -- Hex MD5 of the body: the ETag S3 gives a part unless it is encrypted with SSE-KMS.
    md5          text NOT NULL,
    -- The ETag S3 returned, once it did (the only match under SSE-KMS).
    etag         text,
    -- Rows in the file after this part, and the row cursor of its last row.
    records      bigint NOT NULL,
    cursor       text[] NOT NULL,
    PRIMARY KEY (run_id, upload_id, part_number)
);
