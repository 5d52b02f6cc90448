-- The persons model looks up the latest mapping of each changed distinct id (docs/design.md §5). Without this index
-- that lookup reads every mapping of the team, for every interval.
CREATE INDEX IF NOT EXISTS person_distinct_ids_team_distinct_id_idx
    ON person_distinct_ids (team_id, distinct_id, version DESC);
