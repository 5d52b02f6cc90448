import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { createTeam } from '../helpers/fixtures';
import {
  insertDistinctIds,
  insertPersons,
  insertSessions,
  makePerson,
  makeSession,
  mapping,
} from '../helpers/source-rows';
import { exportedRows } from './run-model';

const HOUR = { start: '2024-05-01T10:00:00Z', end: '2024-05-01T11:00:00Z' };

describe('persons model', () => {
  let db: TestDatabase;
  let teamId: number;

  beforeAll(async () => {
    db = await createTestDatabase();
    ({ teamId } = await createTeam(db.pool));
  });

  afterAll(async () => {
    await db?.drop();
  });

  it('exports each distinct id whose person or mapping changed in the interval, with the latest versions as of its end', async () => {
    const other = await createTeam(db.pool, 'Other');
    const a = makePerson(teamId, '2024-05-01T09:00:00Z', { properties: { name: 'A0' } });
    const b = makePerson(teamId, '2024-05-01T08:00:00Z', { version: 3, properties: { name: 'B3' } });
    const c = makePerson(teamId, '2024-05-01T09:00:00Z');
    const d = makePerson(teamId, '2024-05-01T09:00:00Z');
    const e = makePerson(teamId, '2024-05-01T09:00:00Z', { properties: { name: 'E0' } });
    await insertPersons(db.pool, [
      a,
      { ...a, version: 1, properties: { name: 'A1' }, inserted_at: '2024-05-01T10:15:00Z' },
      // Inserted after the interval: not part of it, even though it is the latest version now.
      { ...a, version: 2, properties: { name: 'A2' }, inserted_at: '2024-05-01T11:30:00Z' },
      b,
      c,
      d,
      { ...d, version: 1, is_deleted: true, inserted_at: '2024-05-01T10:50:00Z' },
      e,
      { ...e, version: 1, inserted_at: '2024-05-01T11:00:00Z' },
      makePerson(other.teamId, '2024-05-01T10:30:00Z', { id: c.id }),
    ]);
    await insertDistinctIds(db.pool, [
      mapping(teamId, 'a1', a.id, '2024-05-01T09:00:00Z'),
      mapping(teamId, 'b1', b.id, '2024-05-01T10:30:00Z'),
      mapping(teamId, 'c1', c.id, '2024-05-01T09:00:00Z'),
      // m1 moves from c to b in the interval (a merge).
      mapping(teamId, 'm1', c.id, '2024-05-01T09:00:00Z'),
      mapping(teamId, 'm1', b.id, '2024-05-01T10:45:00Z', { version: 1 }),
      mapping(teamId, 'd1', d.id, '2024-05-01T09:00:00Z'),
      mapping(teamId, 'e1', e.id, '2024-05-01T10:00:00Z'),
      mapping(other.teamId, 'c1', randomUUID(), '2024-05-01T10:30:00Z'),
    ]);

    const rows = await exportedRows(db.pool, { team_id: teamId, model: 'persons' }, HOUR);

    expect(rows).toEqual([
      {
        team_id: teamId,
        distinct_id: 'a1',
        person_id: a.id,
        properties: { name: 'A1' },
        person_version: 1,
        person_distinct_id_version: 0,
        created_at: '2024-01-01T00:00:00+00:00',
        is_deleted: false,
        inserted_at: '2024-05-01T10:15:00+00:00',
      },
      expect.objectContaining({ distinct_id: 'b1', person_id: b.id, properties: { name: 'B3' }, person_version: 3 }),
      expect.objectContaining({ distinct_id: 'd1', person_id: d.id, person_version: 1, is_deleted: true }),
      expect.objectContaining({ distinct_id: 'e1', person_id: e.id, properties: { name: 'E0' }, person_version: 0 }),
      expect.objectContaining({
        distinct_id: 'm1',
        person_id: b.id,
        person_distinct_id_version: 1,
        inserted_at: '2024-05-01T10:45:00+00:00',
      }),
    ]);
  });

  it('exports nothing for an interval without changes', async () => {
    expect(
      await exportedRows(
        db.pool,
        { team_id: teamId, model: 'persons' },
        { start: '2020-01-01T00:00:00Z', end: '2020-01-01T01:00:00Z' },
      ),
    ).toEqual([]);
  });
});

describe('sessions model', () => {
  let db: TestDatabase;
  let teamId: number;

  beforeAll(async () => {
    db = await createTestDatabase();
    ({ teamId } = await createTeam(db.pool));
  });

  afterAll(async () => {
    await db?.drop();
  });

  it('exports each session updated in the interval once, as its latest row', async () => {
    const updated = makeSession(teamId, '2024-05-01T09:50:00Z', {
      session_id: 's1',
      end_timestamp: '2024-05-01T09:50:00Z',
    });
    const latest = {
      ...updated,
      end_timestamp: '2024-05-01T10:40:00Z',
      exit_url: 'https://example.com/thanks',
      pageview_count: 9,
      duration: 4200.5,
      utm_campaign: 'spring',
      inserted_at: '2024-05-01T10:40:00Z',
    };
    const atStart = makeSession(teamId, '2024-05-01T10:00:00Z', { session_id: 's4', is_bounce: true, entry_url: null });
    await insertSessions(db.pool, [
      updated,
      { ...updated, end_timestamp: '2024-05-01T10:10:00Z', inserted_at: '2024-05-01T10:10:00Z' },
      latest,
      makeSession(teamId, '2024-05-01T09:00:00Z', { session_id: 's2' }),
      makeSession(teamId, '2024-05-01T11:00:00Z', { session_id: 's3' }),
      atStart,
    ]);

    const rows = await exportedRows(db.pool, { team_id: teamId, model: 'sessions' }, HOUR);

    expect(rows).toEqual([
      {
        session_id: 's1',
        team_id: teamId,
        distinct_id: 'user-1',
        start_timestamp: '2024-05-01T09:00:00+00:00',
        end_timestamp: '2024-05-01T10:40:00+00:00',
        entry_url: 'https://example.com/',
        exit_url: 'https://example.com/thanks',
        pageview_count: 9,
        autocapture_count: 1,
        duration: 4200.5,
        is_bounce: false,
        utm_source: 'newsletter',
        utm_medium: 'email',
        utm_campaign: 'spring',
        utm_term: null,
        utm_content: null,
        inserted_at: '2024-05-01T10:40:00+00:00',
      },
      expect.objectContaining({ session_id: 's4', is_bounce: true, entry_url: null }),
    ]);
  });
});
