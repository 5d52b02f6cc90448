import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';

/** An organization and a project (team) to hang exports on. */
export async function createTeam(pool: Pool, name = 'Test project'): Promise<{ organizationId: string; teamId: number }> {
  const {
    rows: [organization],
  } = await pool.query<{ id: string }>(`INSERT INTO organizations (name) VALUES ($1) RETURNING id`, [`${name} org`]);
  const {
    rows: [project],
  } = await pool.query<{ id: number }>(`INSERT INTO projects (organization_id, name) VALUES ($1, $2) RETURNING id`, [
    organization!.id,
    name,
  ]);
  return { organizationId: organization!.id, teamId: project!.id };
}

export interface TestEvent {
  uuid: string;
  event: string;
  /** Raw JSON text, stored as given. */
  properties: string;
  distinct_id: string;
  team_id: number;
  timestamp: string;
  created_at: string;
  inserted_at: string;
  elements_chain: string;
  person_id: string | null;
  person_properties: string;
}

export function makeEvent(teamId: number, insertedAt: string, overrides: Partial<TestEvent> = {}): TestEvent {
  return {
    uuid: randomUUID(),
    event: '$pageview',
    properties: JSON.stringify({ $current_url: 'https://example.com/', $browser: 'Firefox' }),
    distinct_id: `user-${Math.floor(Math.random() * 1000)}`,
    team_id: teamId,
    timestamp: insertedAt,
    created_at: insertedAt,
    inserted_at: insertedAt,
    elements_chain: '',
    person_id: randomUUID(),
    person_properties: JSON.stringify({ email: 'someone@example.com' }),
    ...overrides,
  };
}

export async function insertEvents(pool: Pool, events: TestEvent[]): Promise<void> {
  if (events.length === 0) return;
  await pool.query(
    `INSERT INTO events (uuid, event, properties, distinct_id, team_id, timestamp, created_at, inserted_at,
                         elements_chain, person_id, person_properties)
     SELECT uuid, event, properties::json, distinct_id, team_id, timestamp, created_at, inserted_at, elements_chain,
            person_id, person_properties::json
     FROM jsonb_to_recordset($1::jsonb) AS e(uuid uuid, event text, properties text, distinct_id text,
       team_id bigint, timestamp timestamptz, created_at timestamptz, inserted_at timestamptz, elements_chain text,
       person_id uuid, person_properties text)`,
    [JSON.stringify(events)],
  );
}
