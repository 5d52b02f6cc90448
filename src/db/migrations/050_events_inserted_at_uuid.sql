-- Exports deduplicate an interval's events by uuid before reading them (src/models/events.ts): with uuid in the
-- (team_id, inserted_at) index that step is an index-only scan instead of a read of every wide row of the interval
-- (a million events: 2.0 s -> 1.0 s, docs/notes/issue-6-bench.md). It replaces the index without uuid.
CREATE INDEX IF NOT EXISTS events_team_inserted_at_uuid_idx ON events (team_id, inserted_at) INCLUDE (uuid);
DROP INDEX IF EXISTS events_team_inserted_at_idx;
