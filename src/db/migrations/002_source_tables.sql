-- The source models (docs/design.md §5), as the analytics platform writes them. `inserted_at` is when a row
-- reached this database: exports select by it, so every index leads with (team_id, inserted_at).
-- JSON columns are `json`, not `jsonb`: they keep the text as ingested, including \u0000 escapes jsonb rejects.

CREATE TABLE events (
    uuid               uuid NOT NULL,
    event              text NOT NULL,
    properties         json NOT NULL DEFAULT '{}',
    distinct_id        text NOT NULL,
    team_id            bigint NOT NULL,
    timestamp          timestamptz NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    inserted_at        timestamptz NOT NULL DEFAULT now(),
    elements_chain     text NOT NULL DEFAULT '',
    person_id          uuid,
    person_properties  json NOT NULL DEFAULT '{}'
);
CREATE INDEX events_team_inserted_at_idx ON events (team_id, inserted_at);

CREATE TABLE persons (
    id           uuid NOT NULL,
    team_id      bigint NOT NULL,
    properties   json NOT NULL DEFAULT '{}',
    version      bigint NOT NULL DEFAULT 0,
    is_deleted   boolean NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT now(),
    inserted_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX persons_team_inserted_at_idx ON persons (team_id, inserted_at);
CREATE INDEX persons_team_id_idx ON persons (team_id, id, version DESC);

CREATE TABLE person_distinct_ids (
    team_id      bigint NOT NULL,
    distinct_id  text NOT NULL,
    person_id    uuid NOT NULL,
    version      bigint NOT NULL DEFAULT 0,
    is_deleted   boolean NOT NULL DEFAULT false,
    inserted_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX person_distinct_ids_team_inserted_at_idx ON person_distinct_ids (team_id, inserted_at);
CREATE INDEX person_distinct_ids_team_person_idx ON person_distinct_ids (team_id, person_id);

CREATE TABLE sessions (
    session_id         text NOT NULL,
    team_id            bigint NOT NULL,
    distinct_id        text NOT NULL,
    start_timestamp    timestamptz NOT NULL,
    end_timestamp      timestamptz NOT NULL,
    entry_url          text,
    exit_url           text,
    pageview_count     integer NOT NULL DEFAULT 0,
    autocapture_count  integer NOT NULL DEFAULT 0,
    duration           double precision NOT NULL DEFAULT 0,
    is_bounce          boolean NOT NULL DEFAULT false,
    utm_source         text,
    utm_medium         text,
    utm_campaign       text,
    utm_term           text,
    utm_content        text,
    inserted_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sessions_team_inserted_at_idx ON sessions (team_id, inserted_at);
