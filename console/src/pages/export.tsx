import { useMemo, useState } from 'preact/hooks';
import { api, ApiError, projectPath } from '../api';
import { ConfirmDialog, StatusBadge, TemporalLink, usePolling } from '../components';
import { bytes, duration, isActive, number, time } from '../format';
import { historyCells, RowsChart, RunStrip } from '../run-history';
import type { BatchExport, Run, Session } from '../types';
import { EditExport } from './edit-export';
import { destinationSummary } from './exports';
import { Logs } from './logs';

const STRIP_INTERVALS = 48;

interface Props {
  session: Session;
  projectId: number;
  exportId: string;
}

/** One export: state and actions, run history strip, rows chart, runs with retry / cancel, logs, edit, delete. */
export function ExportPage({ session, projectId, exportId }: Props) {
  const base = projectPath(projectId, `/${exportId}`);
  const [selected, setSelected] = useState<string | null>(null);
  const [editing, setEditing] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);

  const { data, error, reload } = usePolling(
    async () => {
      const batchExport = await api<BatchExport>('GET', base);
      const runs = await api<{ results: Run[] }>('GET', `${base}/runs?ordering=-data_interval_end&limit=200`);
      return { batchExport, runs: runs.results };
    },
    2000,
    [base],
  );
  const cells = useMemo(
    () => (data ? historyCells(data.batchExport.interval, data.runs, STRIP_INTERVALS) : []),
    [data],
  );

  if (error && !data) {
    return (
      <p class="alert" role="alert">
        {error instanceof ApiError && error.status === 404 ? 'No such export.' : error.message}
      </p>
    );
  }
  if (!data) return <p aria-busy="true">Loading…</p>;
  const { batchExport, runs } = data;
  const canWrite = session.can_write;

  /** Runs an action; its failure is shown, its success reloads the page's data. */
  const act = async (what: () => Promise<unknown>, done?: string) => {
    setActionError(null);
    try {
      await what();
      if (done) setNotice(done);
      reload();
    } catch (failure) {
      setActionError((failure as Error).message);
    }
  };
  const runPath = (run: Run) => projectPath(projectId, `/${exportId}/runs/${run.id}`);
  const selectedRun = runs.find((run) => run.id === selected) ?? null;

  return (
    <article aria-labelledby="export-title">
      <div class="page-head">
        <h1 id="export-title">{batchExport.name}</h1>
        <span class={`badge ${batchExport.paused ? 'status-cancelled' : 'status-ok'}`} data-testid="export-state">
          {batchExport.paused ? 'Paused' : 'Active'}
        </span>
        <div class="actions">
          <a class="button" href={`#/exports/${exportId}/backfills`}>
            Backfills
          </a>
          <TemporalLink session={session} workflowId={exportId} label="Schedule in Temporal" />
          {canWrite && (
            <>
              {batchExport.paused ? (
                <button type="button" onClick={() => act(() => api('POST', `${base}/unpause`), 'Export unpaused.')}>
                  Unpause
                </button>
              ) : (
                <button type="button" onClick={() => act(() => api('POST', `${base}/pause`), 'Export paused.')}>
                  Pause
                </button>
              )}
              <button type="button" onClick={() => setEditing(!editing)} aria-expanded={editing}>
                Edit
              </button>
              <button type="button" class="danger" onClick={() => setDeleting(true)}>
                Delete
              </button>
            </>
          )}
        </div>
      </div>
      <p class="meta">
        {batchExport.model} · {destinationSummary(batchExport.destination)} · {batchExport.interval} · exported until{' '}
        {time(batchExport.freshness.exported_until)} (lag {duration(batchExport.freshness.lag_seconds)})
        {batchExport.paused && batchExport.paused_by ? ` · paused by ${batchExport.paused_by}` : ''}
      </p>
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      {actionError && (
        <p class="alert" role="alert">
          {actionError}
        </p>
      )}
      {editing && canWrite && (
        <EditExport
          batchExport={batchExport}
          path={base}
          onSaved={() => {
            setEditing(false);
            setNotice('Export saved.');
            reload();
          }}
          onCancel={() => setEditing(false)}
        />
      )}

      <section aria-labelledby="history-title">
        <h2 id="history-title">Last {STRIP_INTERVALS} intervals</h2>
        <RunStrip cells={cells} selected={selected} onSelect={(run) => setSelected(run.id)} />
        <p class="legend">
          <span class="swatch status-ok" /> completed <span class="swatch status-failed" /> failed{' '}
          <span class="swatch status-running" /> running <span class="swatch status-cancelled" /> cancelled{' '}
          <span class="swatch status-missing" /> no run
        </p>
        <RowsChart cells={cells} />
      </section>

      {selectedRun && (
        <section class="run-detail" aria-labelledby="run-title" data-testid="selected-run">
          <h2 id="run-title">
            Run of the interval ending {time(selectedRun.data_interval_end)} <StatusBadge status={selectedRun.status} />
          </h2>
          <p>
            {number(selectedRun.records_completed)} rows, {bytes(selectedRun.bytes_exported)}
            {selectedRun.attempt ? `, attempt ${selectedRun.attempt}` : ''}
          </p>
          {selectedRun.latest_error && <pre class="error-text">{selectedRun.latest_error}</pre>}
          <RunActions
            run={selectedRun}
            session={session}
            onRetry={() => act(() => api('POST', `${runPath(selectedRun)}/retry`), 'Retry started as a backfill of the interval.')}
            onCancel={() => act(() => api('POST', `${runPath(selectedRun)}/cancel`), 'Run cancelled.')}
          />
        </section>
      )}

      <section aria-labelledby="runs-title">
        <h2 id="runs-title">Runs</h2>
        <table>
          <thead>
            <tr>
              <th scope="col">Interval end</th>
              <th scope="col">Status</th>
              <th scope="col" class="num">Rows</th>
              <th scope="col" class="num">Bytes</th>
              <th scope="col">Error</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {runs.slice(0, 50).map((run) => (
              <tr key={run.id} class={run.id === selected ? 'selected' : ''}>
                <td>
                  <button type="button" class="link" onClick={() => setSelected(run.id)}>
                    {time(run.data_interval_end)}
                  </button>
                </td>
                <td>
                  <StatusBadge status={run.status} />
                </td>
                <td class="num">{number(run.records_completed)}</td>
                <td class="num">{bytes(run.bytes_exported)}</td>
                <td class="error-cell" title={run.latest_error ?? ''}>
                  {run.latest_error ?? ''}
                </td>
                <td>
                  <RunActions
                    run={run}
                    session={session}
                    onRetry={() => act(() => api('POST', `${runPath(run)}/retry`), 'Retry started as a backfill of the interval.')}
                    onCancel={() => act(() => api('POST', `${runPath(run)}/cancel`), 'Run cancelled.')}
                  />
                </td>
              </tr>
            ))}
            {runs.length === 0 && (
              <tr>
                <td colSpan={6}>No runs yet.</td>
              </tr>
            )}
          </tbody>
        </table>
      </section>

      <Logs path={`${base}/logs`} />

      <ConfirmDialog
        open={deleting}
        title={`Delete "${batchExport.name}"?`}
        confirmLabel="Delete export"
        onCancel={() => setDeleting(false)}
        onConfirm={() =>
          void api('DELETE', base)
            .then(() => {
              setDeleting(false);
              location.hash = '#/';
            })
            .catch((failure: Error) => {
              setDeleting(false);
              setActionError(failure.message);
            })
        }
      >
        <p>Its schedule is deleted and its active runs and backfills are cancelled. Exported files stay where they are.</p>
      </ConfirmDialog>
    </article>
  );
}

/** Retry for a finished run, cancel for a running one (write keys only), and the run's workflow in Temporal. */
function RunActions(props: { run: Run; session: Session; onRetry: () => void; onCancel: () => void }) {
  const { run, session } = props;
  const when = time(run.data_interval_end);
  return (
    <span class="row-actions">
      {session.can_write && !isActive(run.status) && run.status !== 'Completed' && (
        <button type="button" onClick={props.onRetry} aria-label={`Retry the run of ${when}`}>
          Retry
        </button>
      )}
      {session.can_write && isActive(run.status) && (
        <button type="button" onClick={props.onCancel} aria-label={`Cancel the run of ${when}`}>
          Cancel
        </button>
      )}
      <TemporalLink session={session} workflowId={run.workflow_id} label="Workflow" />
    </span>
  );
}
