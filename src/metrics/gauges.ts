import type { Pool } from 'pg';
import { freshnessOf } from '../db/runs';

export interface ExportLag {
  batchExportId: string;
  teamId: number;
  lagSeconds: number;
}

/**
 * Freshness lag of every export that has completed a run: the same figure as the API's `freshness.lag_seconds`.
 * Paused exports are in (a schedule left paused is a reason to be late); exports without a completed run yet are not
 * (nothing to be behind from).
 */
export async function freshnessLagByExport(pool: Pool, now: Date): Promise<ExportLag[]> {
  const { rows } = await pool.query<{ id: string; team_id: number }>(
    'SELECT id, team_id FROM batch_exports WHERE NOT deleted',
  );
  if (rows.length === 0) return [];
  const freshness = await freshnessOf(
    pool,
    rows.map((row) => row.id),
  );
  const teams = new Map(rows.map((row) => [row.id, row.team_id]));
  return freshness.flatMap((entry) =>
    entry.exported_until
      ? [
          {
            batchExportId: entry.batch_export_id,
            teamId: teams.get(entry.batch_export_id)!,
            lagSeconds: Math.max(0, Math.round((now.getTime() - entry.exported_until.getTime()) / 1000)),
          },
        ]
      : [],
  );
}

export interface BackfillProgress {
  batchExportId: string;
  /** Intervals of the export's active backfills, once known (a backfill counts its intervals when it starts). */
  total: number;
  /** Of those, the ones skipped or whose run reached a final status. */
  done: number;
}

/** Progress of active backfills, summed per export. */
export async function backfillProgressByExport(pool: Pool): Promise<BackfillProgress[]> {
  const { rows } = await pool.query<{ batch_export_id: string; total: string; done: string }>(
    `SELECT b.batch_export_id, COALESCE(sum(b.total_runs), 0) AS total,
            sum(b.skipped_runs + (SELECT count(*) FROM batch_export_runs r
                                  WHERE r.backfill_id = b.id AND r.status NOT IN ('Starting', 'Running'))) AS done
     FROM batch_export_backfills b
     WHERE b.status IN ('Starting', 'Running')
     GROUP BY b.batch_export_id`,
  );
  return rows.map((row) => ({ batchExportId: row.batch_export_id, total: Number(row.total), done: Number(row.done) }));
}
