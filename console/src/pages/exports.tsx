import { useState } from 'preact/hooks';
import { api, projectPath } from '../api';
import { StatusBadge, usePolling } from '../components';
import { duration, isFailed, number, time } from '../format';
import type { BatchExport, RunStats, Session } from '../types';

type Filter = 'all' | 'active' | 'paused' | 'failing';

/** Where an export writes, in a few words. */
export function destinationSummary(destination: BatchExport['destination']): string {
  const config = destination.config;
  if (destination.type === 'S3') return `S3 ${String(config.bucket_name ?? '')}`;
  if (destination.type === 'Postgres') return `Postgres ${String(config.host ?? '')}/${String(config.table_name ?? '')}`;
  return destination.type;
}

/** Every export of the project with its state, last run, freshness and rows of the last 24 hours. */
export function ExportsList({ session, projectId }: { session: Session; projectId: number }) {
  const [filter, setFilter] = useState<Filter>('all');
  const { data, error } = usePolling(
    async () => {
      const [exports, stats] = await Promise.all([
        api<{ count: number; results: BatchExport[] }>('GET', projectPath(projectId, '?limit=1000')),
        api<RunStats>('GET', projectPath(projectId, '/stats?hours=24')),
      ]);
      return { exports, stats };
    },
    5000,
    [projectId],
  );

  const statsOf = (id: string) => data?.stats.results.find((entry) => entry.batch_export_id === id);
  const shown = (data?.exports.results ?? []).filter((batchExport) => {
    const last = batchExport.latest_runs[0];
    if (filter === 'active') return !batchExport.paused;
    if (filter === 'paused') return batchExport.paused;
    if (filter === 'failing') return last !== undefined && isFailed(last.status);
    return true;
  });

  return (
    <section aria-labelledby="exports-title">
      <div class="page-head">
        <h1 id="exports-title">Exports</h1>
        <label>
          Status{' '}
          <select value={filter} onChange={(event) => setFilter(event.currentTarget.value as Filter)}>
            <option value="all">All</option>
            <option value="active">Active</option>
            <option value="paused">Paused</option>
            <option value="failing">Last run failed</option>
          </select>
        </label>
        {session.can_write && (
          <a class="button primary" href="#/exports/new">
            New export
          </a>
        )}
      </div>
      {error && !data && (
        <p class="alert" role="alert">
          {error.message}
        </p>
      )}
      {!data && !error && <p aria-busy="true">Loading…</p>}
      {data && (
        <table>
          <caption class="visually-hidden">Batch exports of the project</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Model</th>
              <th scope="col">Destination</th>
              <th scope="col">Interval</th>
              <th scope="col">State</th>
              <th scope="col">Last run</th>
              <th scope="col">Freshness lag</th>
              <th scope="col" class="num">
                Rows (24 h)
              </th>
            </tr>
          </thead>
          <tbody>
            {shown.map((batchExport) => {
              const last = batchExport.latest_runs[0];
              return (
                <tr key={batchExport.id}>
                  <td>
                    <a href={`#/exports/${batchExport.id}`}>{batchExport.name}</a>
                  </td>
                  <td>{batchExport.model}</td>
                  <td>{destinationSummary(batchExport.destination)}</td>
                  <td>{batchExport.interval}</td>
                  <td>
                    <span class={`badge ${batchExport.paused ? 'status-cancelled' : 'status-ok'}`}>
                      {batchExport.paused ? 'Paused' : 'Active'}
                    </span>
                  </td>
                  <td>
                    {last ? (
                      <>
                        <StatusBadge status={last.status} /> {time(last.data_interval_end)}
                      </>
                    ) : (
                      'No runs yet'
                    )}
                  </td>
                  <td>{duration(batchExport.freshness.lag_seconds)}</td>
                  <td class="num">{number(statsOf(batchExport.id)?.records ?? 0)}</td>
                </tr>
              );
            })}
            {shown.length === 0 && (
              <tr>
                <td colSpan={8}>No exports{filter === 'all' ? ' yet' : ' match this filter'}.</td>
              </tr>
            )}
          </tbody>
        </table>
      )}
    </section>
  );
}
