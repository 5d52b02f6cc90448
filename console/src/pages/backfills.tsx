import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, projectPath } from '../api';
import { Field, FormErrors, StatusBadge, TemporalLink, usePolling } from '../components';
import { duration, intervalMs, isActive, number, time } from '../format';
import type { Backfill, BackfillEstimate, BatchExport, Session } from '../types';

interface Props {
  session: Session;
  projectId: number;
  exportId: string;
}

/** A default range: the last six whole intervals (dates for day and week exports). */
function defaultRange(interval: string): { start: string; end: string } {
  const step = intervalMs(interval);
  const end = Math.floor(Date.now() / step) * step;
  const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  if (interval === 'day' || interval === 'week') {
    return { start: iso(end - 6 * step).slice(0, 10), end: iso(end).slice(0, 10) };
  }
  return { start: iso(end - 6 * step), end: iso(end) };
}

/** An export's backfills: create one (with its interval count and estimate first), follow them live, cancel. */
export function BackfillsPage({ session, projectId, exportId }: Props) {
  const base = projectPath(projectId, `/${exportId}`);
  const exported = usePolling(() => api<BatchExport>('GET', base), 60_000, [base]);
  const [anyActive, setAnyActive] = useState(true);
  const list = usePolling(
    async () => (await api<{ results: Backfill[] }>('GET', `${base}/backfills?limit=50`)).results,
    anyActive ? 1000 : 5000,
    [base],
  );
  useEffect(() => setAnyActive((list.data ?? []).some((backfill) => isActive(backfill.status))), [list.data]);
  const batchExport = exported.data;
  const [cancelError, setCancelError] = useState<string | null>(null);

  return (
    <article aria-labelledby="backfills-title">
      <p>
        <a href={`#/exports/${exportId}`}>← {batchExport?.name ?? 'Export'}</a>
      </p>
      <h1 id="backfills-title">Backfills{batchExport ? ` of ${batchExport.name}` : ''}</h1>
      {batchExport && session.can_write && (
        <NewBackfill
          batchExport={batchExport}
          path={base}
          onStarted={list.reload}
          finished={(list.data ?? []).filter((backfill) => !isActive(backfill.status)).length}
        />
      )}
      <section aria-labelledby="backfill-list-title">
        <h2 id="backfill-list-title">Backfills</h2>
        {!list.data && <p aria-busy="true">Loading…</p>}
        {list.data?.length === 0 && <p>No backfills yet.</p>}
        {cancelError && (
          <p class="alert" role="alert">
            {cancelError}
          </p>
        )}
        <ul class="backfills">
          {(list.data ?? []).map((backfill) => (
            <BackfillItem
              key={backfill.id}
              backfill={backfill}
              session={session}
              onCancel={() =>
                void api('POST', `${base}/backfills/${backfill.id}/cancel`)
                  .then(() => (setCancelError(null), list.reload()))
                  .catch((failure: Error) => setCancelError(failure.message))
              }
            />
          ))}
        </ul>
      </section>
    </article>
  );
}

/** `finished`: backfills that have ended; each one may change the rows per interval the estimate uses. */
function NewBackfill(props: { batchExport: BatchExport; path: string; onStarted: () => void; finished: number }) {
  const [range, setRange] = useState(() => defaultRange(props.batchExport.interval));
  const [estimate, setEstimate] = useState<BackfillEstimate | null>(null);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const body = { start_at: range.start || null, end_at: range.end || null };

  // The estimate follows the range as it is typed (a moment after the last key), with the API's own checks.
  useEffect(() => {
    let current = true;
    const timer = setTimeout(() => {
      api<BackfillEstimate>('POST', `${props.path}/backfills/estimate`, body)
        .then((result) => current && (setEstimate(result), setErrors({})))
        .catch((failure) => {
          if (!current) return;
          setEstimate(null);
          setErrors(failure instanceof ApiError ? failure.fieldErrors() : { '': (failure as Error).message });
        });
    }, 300);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [range.start, range.end, props.finished]);

  const start = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    try {
      await api('POST', `${props.path}/backfills`, body);
      props.onStarted();
    } catch (failure) {
      setErrors(failure instanceof ApiError ? failure.fieldErrors() : { '': (failure as Error).message });
    } finally {
      setBusy(false);
    }
  };

  const dates = props.batchExport.interval === 'day' || props.batchExport.interval === 'week';
  const hint = dates ? 'A date, YYYY-MM-DD' : 'A UTC date and time, e.g. 2026-01-01T00:00:00Z';
  return (
    <form class="panel" onSubmit={start} aria-labelledby="new-backfill-title" noValidate>
      <h2 id="new-backfill-title">New backfill</h2>
      <FormErrors errors={errors} shown={['start_at', 'end_at']} />
      <div class="row">
        <Field name="start_at" label="From" errors={errors} hint={hint}>
          {(p) => (
            <input {...p} value={range.start} onInput={(event) => setRange({ ...range, start: event.currentTarget.value })} />
          )}
        </Field>
        <Field name="end_at" label="To" errors={errors} hint={hint}>
          {(p) => (
            <input {...p} value={range.end} onInput={(event) => setRange({ ...range, end: event.currentTarget.value })} />
          )}
        </Field>
      </div>
      <p class="estimate" role="status" data-testid="backfill-estimate">
        {estimate
          ? `${estimate.intervals === null ? 'Every interval from the earliest data' : `${number(estimate.intervals)} intervals`}` +
            (estimate.estimated_records !== null
              ? ` · about ${number(estimate.estimated_records)} rows (mean of the last ${number(estimate.based_on_runs)} completed runs)`
              : ' · no completed runs yet to estimate rows from')
          : 'Checking the range…'}
      </p>
      <button type="submit" class="primary" disabled={busy || !estimate}>
        Start backfill
      </button>
    </form>
  );
}

function BackfillItem({ backfill, session, onCancel }: { backfill: Backfill; session: Session; onCancel: () => void }) {
  const { total_runs: total, finished_runs: done } = backfill.progress;
  const percent = total ? Math.round((100 * done) / total) : backfill.status === 'Completed' ? 100 : 0;
  const ended = backfill.finished_at ? Date.parse(backfill.finished_at) : Date.now();
  const seconds = Math.max(1, (ended - Date.parse(backfill.created_at)) / 1000);
  const perMinute = (done / seconds) * 60;
  const eta = total && done && isActive(backfill.status) ? ((total - done) / done) * seconds : null;
  const rows = backfill.total_records_count;
  return (
    <li class="backfill" data-backfill-id={backfill.id}>
      <div class="backfill-head">
        <strong>
          {time(backfill.start_at)} → {time(backfill.end_at)}
        </strong>{' '}
        <StatusBadge status={backfill.status} />
        {session.can_write && isActive(backfill.status) && (
          <button type="button" onClick={onCancel} aria-label={`Cancel backfill from ${time(backfill.start_at)}`}>
            Cancel backfill
          </button>
        )}
        {backfill.workflow_id && <TemporalLink session={session} workflowId={backfill.workflow_id} label="Workflow" />}
      </div>
      <div
        class="progress"
        role="progressbar"
        aria-label={`Progress of the backfill from ${time(backfill.start_at)}`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
        aria-valuetext={`${percent}%: ${done} of ${total ?? '?'} intervals`}
      >
        <div class="progress-bar" style={{ width: `${percent}%` }} />
      </div>
      <p class="backfill-stats">
        <span data-testid="backfill-done">
          {number(done)} / {total === null ? '?' : number(total)} intervals
        </span>{' '}
        · {percent}% · {number(rows)} rows · {perMinute.toFixed(1)} intervals/min
        {rows !== null ? ` · ${number(Math.round(rows / seconds))} rows/s` : ''} · ETA {eta === null ? '—' : duration(eta)}
      </p>
      {backfill.latest_error && <pre class="error-text">{backfill.latest_error}</pre>}
    </li>
  );
}
