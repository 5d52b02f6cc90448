import { beforeAll, describe, expect, it } from 'vitest';
import { insertBatchExport } from '../../src/db/batch-exports';
import { dataBounds } from '../../src/models/bounds';
import { MODEL_NAMES, MODELS } from '../../src/models/registry';
import { Model } from '../../src/service/schemas';
import { useTestDatabase } from '../helpers/database';
import { createTeam } from '../helpers/fixtures';

/** What docs/adding-a-model.md promises: a model's file, its registry line and a migration are all it takes. */
describe('the model registry', () => {
  const db = useTestDatabase();
  let teamId: number;

  beforeAll(async () => {
    ({ teamId } = await createTeam(db.pool));
  });

  it('is the list of models the API accepts', () => {
    expect(Model.options).toEqual(Object.keys(MODELS));
  });

  it.each(MODEL_NAMES)('stores a batch export of %s (the migrations allow the name)', async (model) => {
    const created = await insertBatchExport(db.pool, {
      teamId,
      name: `${model} export`,
      model,
      interval: 'hour',
      paused: true,
      startAt: null,
      endAt: null,
      hogqlQuery: null,
      filters: null,
      timezone: 'UTC',
      offsetDay: null,
      offsetHour: null,
      destination: { type: 'NoOp', config: {}, encryptedSecrets: null },
    });
    expect(created.model).toBe(model);
  });

  it.each(MODEL_NAMES)('has the source tables of %s, each indexed on (team_id, inserted_at)', async (model) => {
    for (const table of MODELS[model].sourceTables) {
      const { rows } = await db.pool.query<{ definition: string }>(
        `SELECT indexdef AS definition FROM pg_indexes WHERE schemaname = 'public' AND tablename = $1`,
        [table],
      );
      expect(
        rows.some((row) => /\(team_id, inserted_at\b/.test(row.definition)),
        `${table}: ${JSON.stringify(rows)}`,
      ).toBe(true);
    }
    const bounds = await dataBounds(db.pool, { teamId, model, from: null, until: new Date() });
    expect(bounds).toEqual({ firstInsertedAt: null, records: 0 });
  });
});
