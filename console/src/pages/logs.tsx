import { useState } from 'preact/hooks';
import { api } from '../api';
import { usePolling } from '../components';
import type { LogEntry } from '../types';

const LEVELS = ['ERROR', 'WARNING', 'INFO', 'DEBUG'] as const;

/** An export's log entries, newest first, filtered by level; "Follow" re-reads them every two seconds. */
export function Logs({ path }: { path: string }) {
  const [levels, setLevels] = useState<string[]>(['ERROR', 'WARNING', 'INFO']);
  const [follow, setFollow] = useState(true);
  const query = levels.length ? `?limit=200&level=${levels.join(',')}` : null;
  const { data, reload } = usePolling(
    async () => (query ? (await api<{ results: LogEntry[] }>('GET', `${path}${query}`)).results : []),
    2000,
    [path, query],
    follow,
  );
  const toggle = (level: string, on: boolean) =>
    setLevels((current) => (on ? [...current, level] : current.filter((item) => item !== level)));

  return (
    <section aria-labelledby="logs-title">
      <h2 id="logs-title">Logs</h2>
      <div class="toolbar">
        <fieldset>
          <legend>Levels</legend>
          {LEVELS.map((level) => (
            <label key={level}>
              <input
                type="checkbox"
                checked={levels.includes(level)}
                onChange={(event) => toggle(level, event.currentTarget.checked)}
              />{' '}
              {level}
            </label>
          ))}
        </fieldset>
        <label>
          <input type="checkbox" checked={follow} onChange={(event) => setFollow(event.currentTarget.checked)} /> Follow
          live
        </label>
        {!follow && (
          <button type="button" onClick={reload}>
            Refresh
          </button>
        )}
      </div>
      <div class="logs" role="log" aria-live={follow ? 'polite' : 'off'} aria-label="Log entries, newest first">
        {(data ?? []).map((entry, index) => (
          <div key={`${entry.timestamp}-${index}`} class={`log log-${entry.level.toLowerCase()}`}>
            <time>{entry.timestamp.replace('T', ' ').slice(0, 19)}</time> <span class="level">{entry.level}</span>{' '}
            <span>{entry.message}</span>
          </div>
        ))}
        {data && data.length === 0 && <p>No log entries at these levels.</p>}
      </div>
    </section>
  );
}
