import type { Pool } from 'pg';

/**
 * A small website's traffic, as the analytics platform would write it into the source tables: visitors (persons and
 * their distinct ids), their sessions, and the events of each session ($pageview, $autocapture, $pageleave, a few
 * sign-ups) with the properties a web SDK sends. Deterministic for a seed, so tests can regenerate what was inserted.
 * A few events are ingested twice with the same uuid, as a retrying client does: exports keep one copy.
 */

export interface DemoEvent {
  uuid: string;
  event: string;
  properties: Record<string, unknown>;
  distinct_id: string;
  team_id: number;
  timestamp: string;
  inserted_at: string;
  person_id: string;
  person_properties: Record<string, unknown>;
}

export interface DemoTraffic {
  events: DemoEvent[];
  persons: {
    id: string;
    team_id: number;
    properties: Record<string, unknown>;
    created_at: string;
    inserted_at: string;
  }[];
  distinctIds: { team_id: number; distinct_id: string; person_id: string; inserted_at: string }[];
  sessions: {
    session_id: string;
    team_id: number;
    distinct_id: string;
    start_timestamp: string;
    end_timestamp: string;
    entry_url: string;
    exit_url: string;
    pageview_count: number;
    autocapture_count: number;
    duration: number;
    is_bounce: boolean;
    utm_source: string | null;
    utm_medium: string | null;
    utm_campaign: string | null;
    inserted_at: string;
  }[];
}

export interface TrafficOptions {
  teamId: number;
  /** Events are ingested (inserted_at) in [start, end). */
  start: Date;
  end: Date;
  /** Sessions started per minute on average: each makes 2 to 12 events. */
  sessionsPerMinute?: number;
  /** The same seed gives the same traffic. */
  seed?: number;
}

const SITE = 'https://shop.example.com';
const PAGES = ['/', '/pricing', '/docs', '/docs/getting-started', '/blog', '/blog/launch-week', '/signup', '/about'];
const BROWSERS = ['Chrome', 'Safari', 'Firefox', 'Edge'];
const OSES = ['Mac OS X', 'Windows', 'iOS', 'Android', 'Linux'];
const REFERRERS = ['$direct', 'https://www.google.com/', 'https://news.ycombinator.com/', 'https://twitter.com/'];
const CAMPAIGNS = [
  null,
  null,
  { utm_source: 'newsletter', utm_medium: 'email', utm_campaign: 'november' },
  { utm_source: 'google', utm_medium: 'cpc', utm_campaign: 'brand' },
];
const ELEMENTS = ['button.cta', 'a.nav-link', 'input#email', 'button#add-to-cart'];
/** One event in this many is ingested a second time with the same uuid. */
const DUPLICATE_ONE_IN = 150;

/** The traffic of [start, end): persons first seen in it, their sessions and events. */
export function generateTraffic(options: TrafficOptions): DemoTraffic {
  const random = mulberry32(options.seed ?? options.start.getTime());
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const uuid = () => randomUuid(random);
  const traffic: DemoTraffic = { events: [], persons: [], distinctIds: [], sessions: [] };
  const spanMs = options.end.getTime() - options.start.getTime();
  const sessions = Math.max(1, Math.round((spanMs / 60_000) * (options.sessionsPerMinute ?? 2)));

  for (let s = 0; s < sessions; s++) {
    const startMs = options.start.getTime() + random() * spanMs;
    const personId = uuid();
    const distinctId = `visitor-${personId.slice(0, 8)}`;
    const email = random() < 0.3 ? `${distinctId}@example.org` : undefined;
    const personProperties = { ...(email ? { email } : {}), $browser: pick(BROWSERS), $os: pick(OSES) };
    const firstSeen = new Date(startMs).toISOString();
    traffic.persons.push({
      id: personId,
      team_id: options.teamId,
      properties: personProperties,
      created_at: firstSeen,
      inserted_at: firstSeen,
    });
    traffic.distinctIds.push({
      team_id: options.teamId,
      distinct_id: distinctId,
      person_id: personId,
      inserted_at: firstSeen,
    });

    const sessionId = uuid();
    const campaign = pick(CAMPAIGNS);
    const common = {
      $session_id: sessionId,
      $browser: personProperties.$browser,
      $os: personProperties.$os,
      $device_type: personProperties.$os === 'iOS' || personProperties.$os === 'Android' ? 'Mobile' : 'Desktop',
      $referrer: pick(REFERRERS),
      $lib: 'web',
      ...(campaign ?? {}),
    };
    const pages = 1 + Math.floor(random() * 5);
    let at = startMs;
    let autocaptures = 0;
    const visited: string[] = [];
    const add = (event: string, properties: Record<string, unknown>) => {
      // Ingestion lags the event by up to 20 s; nothing is ingested after `end`.
      const insertedMs = Math.min(at + random() * 20_000, options.end.getTime() - 1);
      const row: DemoEvent = {
        uuid: uuid(),
        event,
        properties: { ...common, ...properties },
        distinct_id: distinctId,
        team_id: options.teamId,
        timestamp: new Date(at).toISOString(),
        inserted_at: new Date(insertedMs).toISOString(),
        person_id: personId,
        person_properties: personProperties,
      };
      traffic.events.push(row);
      if (random() * DUPLICATE_ONE_IN < 1)
        traffic.events.push({ ...row, inserted_at: new Date(insertedMs).toISOString() });
    };
    for (let p = 0; p < pages; p++) {
      const path = p === 0 ? pick(PAGES.slice(0, 5)) : pick(PAGES);
      visited.push(path);
      add('$pageview', { $current_url: `${SITE}${path}`, $pathname: path, title: `Shop - ${path}` });
      at += 2_000 + random() * 40_000;
      if (random() < 0.6) {
        autocaptures++;
        add('$autocapture', { $current_url: `${SITE}${path}`, $event_type: 'click', $element: pick(ELEMENTS) });
        at += 1_000 + random() * 10_000;
      }
      if (path === '/signup' && email) add('signed_up', { plan: pick(['free', 'pro']), $set: { email } });
    }
    add('$pageleave', { $current_url: `${SITE}${visited.at(-1)}` });
    const endMs = at;
    traffic.sessions.push({
      session_id: sessionId,
      team_id: options.teamId,
      distinct_id: distinctId,
      start_timestamp: new Date(startMs).toISOString(),
      end_timestamp: new Date(endMs).toISOString(),
      entry_url: `${SITE}${visited[0]}`,
      exit_url: `${SITE}${visited.at(-1)}`,
      pageview_count: pages,
      autocapture_count: autocaptures,
      duration: Math.round((endMs - startMs) / 1000),
      is_bounce: pages === 1,
      utm_source: campaign?.utm_source ?? null,
      utm_medium: campaign?.utm_medium ?? null,
      utm_campaign: campaign?.utm_campaign ?? null,
      inserted_at: new Date(Math.min(endMs + 30_000, options.end.getTime() - 1)).toISOString(),
    });
  }
  return traffic;
}

/** Inserts the traffic into the source tables, one statement per table. */
export async function insertTraffic(pool: Pool, traffic: DemoTraffic): Promise<void> {
  await pool.query(
    `INSERT INTO events (uuid, event, properties, distinct_id, team_id, timestamp, inserted_at, person_id, person_properties)
     SELECT uuid, event, properties::json, distinct_id, team_id, timestamp, inserted_at, person_id, person_properties::json
     FROM jsonb_to_recordset($1::jsonb) AS e(uuid uuid, event text, properties jsonb, distinct_id text, team_id bigint,
       timestamp timestamptz, inserted_at timestamptz, person_id uuid, person_properties jsonb)`,
    [JSON.stringify(traffic.events)],
  );
  await pool.query(
    `INSERT INTO persons (id, team_id, properties, created_at, inserted_at)
     SELECT id, team_id, properties::json, created_at, inserted_at
     FROM jsonb_to_recordset($1::jsonb) AS p(id uuid, team_id bigint, properties jsonb, created_at timestamptz,
       inserted_at timestamptz)`,
    [JSON.stringify(traffic.persons)],
  );
  await pool.query(
    `INSERT INTO person_distinct_ids (team_id, distinct_id, person_id, inserted_at)
     SELECT team_id, distinct_id, person_id, inserted_at
     FROM jsonb_to_recordset($1::jsonb) AS d(team_id bigint, distinct_id text, person_id uuid, inserted_at timestamptz)`,
    [JSON.stringify(traffic.distinctIds)],
  );
  await pool.query(
    `INSERT INTO sessions (session_id, team_id, distinct_id, start_timestamp, end_timestamp, entry_url, exit_url,
       pageview_count, autocapture_count, duration, is_bounce, utm_source, utm_medium, utm_campaign, inserted_at)
     SELECT session_id, team_id, distinct_id, start_timestamp, end_timestamp, entry_url, exit_url, pageview_count,
       autocapture_count, duration, is_bounce, utm_source, utm_medium, utm_campaign, inserted_at
     FROM jsonb_populate_recordset(NULL::sessions, $1::jsonb)`,
    [JSON.stringify(traffic.sessions)],
  );
}

/** A small, fast, seedable PRNG (mulberry32): Math.random cannot be seeded. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A version-4 UUID from the seeded generator. */
function randomUuid(random: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16));
  hex[12] = '4';
  hex[16] = ((Math.floor(random() * 4) + 8) as number).toString(16);
  const s = hex.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}
