import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';

/** A version of a person, as the platform appends it. */
export interface TestPerson {
  id: string;
  team_id: number;
  properties: Record<string, unknown>;
  version: number;
  is_deleted: boolean;
  created_at: string;
  inserted_at: string;
}

export interface TestDistinctId {
  team_id: number;
  distinct_id: string;
  person_id: string;
  version: number;
  is_deleted: boolean;
  inserted_at: string;
}

export interface TestSession {
  session_id: string;
  team_id: number;
  distinct_id: string;
  start_timestamp: string;
  end_timestamp: string;
  entry_url: string | null;
  exit_url: string | null;
  pageview_count: number;
  autocapture_count: number;
  duration: number;
  is_bounce: boolean;
  utm_source: string | null;
  utm_medium: string | null;
  utm_campaign: string | null;
  utm_term: string | null;
  utm_content: string | null;
  inserted_at: string;
}

export function makePerson(teamId: number, insertedAt: string, overrides: Partial<TestPerson> = {}): TestPerson {
  return {
    id: randomUUID(),
    team_id: teamId,
    properties: { email: 'someone@example.com' },
    version: 0,
    is_deleted: false,
    created_at: '2024-01-01T00:00:00Z',
    inserted_at: insertedAt,
    ...overrides,
  };
}

export function makeSession(teamId: number, insertedAt: string, overrides: Partial<TestSession> = {}): TestSession {
  return {
    session_id: randomUUID(),
    team_id: teamId,
    distinct_id: 'user-1',
    start_timestamp: '2024-05-01T09:00:00Z',
    end_timestamp: '2024-05-01T09:30:00Z',
    entry_url: 'https://example.com/',
    exit_url: 'https://example.com/pricing',
    pageview_count: 3,
    autocapture_count: 1,
    duration: 1800,
    is_bounce: false,
    utm_source: 'newsletter',
    utm_medium: 'email',
    utm_campaign: null,
    utm_term: null,
    utm_content: null,
    inserted_at: insertedAt,
    ...overrides,
  };
}

/**
 * A session seen twice: first at 10:05 of `day` (one pageview, ending then), then at 11:30 (seven pageviews, ending
 * then). Exporting the hour ending 11:00 sends the first, the hour ending 12:00 the second: merges keep the second.
 */
export function sessionSeenTwice(teamId: number, day: string): [TestSession, TestSession] {
  const session = makeSession(teamId, `${day}T10:05:00Z`, { end_timestamp: `${day}T10:05:00Z`, pageview_count: 1 });
  const later = { ...session, end_timestamp: `${day}T11:30:00Z`, pageview_count: 7, inserted_at: `${day}T11:30:00Z` };
  return [session, later];
}

export async function insertPersons(pool: Pool, persons: TestPerson[]): Promise<void> {
  await pool.query(
    `INSERT INTO persons (id, team_id, properties, version, is_deleted, created_at, inserted_at)
     SELECT id, team_id, properties::json, version, is_deleted, created_at, inserted_at
     FROM jsonb_to_recordset($1::jsonb) AS p(id uuid, team_id bigint, properties jsonb, version bigint,
       is_deleted boolean, created_at timestamptz, inserted_at timestamptz)`,
    [JSON.stringify(persons)],
  );
}

export async function insertDistinctIds(pool: Pool, rows: TestDistinctId[]): Promise<void> {
  await pool.query(
    `INSERT INTO person_distinct_ids (team_id, distinct_id, person_id, version, is_deleted, inserted_at)
     SELECT team_id, distinct_id, person_id, version, is_deleted, inserted_at
     FROM jsonb_to_recordset($1::jsonb) AS d(team_id bigint, distinct_id text, person_id uuid, version bigint,
       is_deleted boolean, inserted_at timestamptz)`,
    [JSON.stringify(rows)],
  );
}

export async function insertSessions(pool: Pool, sessions: TestSession[]): Promise<void> {
  await pool.query(`INSERT INTO sessions SELECT * FROM jsonb_populate_recordset(NULL::sessions, $1::jsonb)`, [
    JSON.stringify(sessions),
  ]);
}

/** A mapping row for a distinct id. */
export function mapping(
  teamId: number,
  distinctId: string,
  personId: string,
  insertedAt: string,
  overrides: Partial<TestDistinctId> = {},
): TestDistinctId {
  return {
    team_id: teamId,
    distinct_id: distinctId,
    person_id: personId,
    version: 0,
    is_deleted: false,
    inserted_at: insertedAt,
    ...overrides,
  };
}

/**
 * `count` $pageview events 8 ms apart from `start`, with ~600 bytes of JSON each (250 of them hex noise, which
 * compresses poorly): 400,000 make ~240 MB of JSON lines, ~80 MB gzipped.
 */
export async function insertNoisyEvents(pool: Pool, teamId: number, count: number, start: string): Promise<void> {
  await pool.query(
    `INSERT INTO events (uuid, event, properties, distinct_id, team_id, timestamp, created_at, inserted_at,
                         elements_chain, person_id, person_properties)
     SELECT gen_random_uuid(), '$pageview',
            json_build_object('$current_url', 'https://example.com/' || md5(i::text), '$browser', 'Firefox',
                              '$session_id', md5((i * 7)::text), 'n', i, 'noise', md5(i || 'a') || md5(i || 'b') || md5(i || 'c') || md5(i || 'd') || md5(i || 'e') || md5(i || 'f')),
            'user-' || (i % 5000), $1, t.at, t.at, t.at, '', gen_random_uuid(), '{"email": "x@example.com"}'
     FROM generate_series(1, $2::int) AS i,
          LATERAL (SELECT $3::timestamptz + i * interval '8 milliseconds') AS t(at)`,
    [teamId, count, start],
  );
}

/** `count` small $pageview events (properties `{"n": i}`), `stepMs` apart from `start`. */
export async function insertPageviews(
  pool: Pool,
  teamId: number,
  count: number,
  start: string,
  stepMs: number,
): Promise<void> {
  await pool.query(
    `INSERT INTO events (uuid, event, properties, distinct_id, team_id, timestamp, created_at, inserted_at)
     SELECT gen_random_uuid(), '$pageview', json_build_object('n', i), 'user-' || (i % 500), $1, t.at, t.at, t.at
     FROM generate_series(1, $2::int) AS i,
          LATERAL (SELECT $3::timestamptz + i * $4::int * interval '1 millisecond') AS t(at)`,
    [teamId, count, start, stepMs],
  );
}
