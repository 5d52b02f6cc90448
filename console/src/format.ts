import type { Status } from './types';

/** How the console writes numbers, sizes, times and durations. */

export const number = (value: number | null | undefined): string =>
  value === null || value === undefined ? '—' : value.toLocaleString('en-US');

export function bytes(value: number | null | undefined): string {
  if (value === null || value === undefined) return '—';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let size = value;
  let unit = 0;
  while (size >= 1000 && unit < units.length - 1) {
    size /= 1000;
    unit++;
  }
  return `${unit === 0 ? size : size.toFixed(1)} ${units[unit]}`;
}

/** UTC, to the minute: intervals are UTC instants in the API. */
export const time = (iso: string | null | undefined): string =>
  iso ? `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC` : '—';

export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3600)} h`;
}

const FAILED: readonly Status[] = ['Failed', 'FailedRetryable', 'FailedBilling', 'TimedOut', 'Terminated'];
export const isFailed = (status: Status): boolean => FAILED.includes(status);
export const isActive = (status: Status): boolean => status === 'Starting' || status === 'Running';

/** The CSS class of a status: one colour each for done, failed, running and cancelled. */
export function statusClass(status: Status | 'Missing'): string {
  if (status === 'Missing') return 'status-missing';
  if (status === 'Completed') return 'status-ok';
  if (isFailed(status)) return 'status-failed';
  if (isActive(status) || status === 'ContinuedAsNew') return 'status-running';
  return 'status-cancelled';
}

/** Milliseconds of a fixed interval ("hour", "every 5 minutes"); day and week as 24 h and 7 d. */
export function intervalMs(interval: string): number {
  if (interval === 'hour') return 3_600_000;
  if (interval === 'day') return 86_400_000;
  if (interval === 'week') return 7 * 86_400_000;
  const minutes = /^every (\d+) minutes?$/.exec(interval)?.[1];
  return (minutes ? Number(minutes) : 60) * 60_000;
}

/** The API's models (src/models/registry.ts), offered by the wizard and the edit form. */
export const MODELS = ['events', 'persons', 'sessions'];

export const INTERVALS = ['every 5 minutes', 'every 15 minutes', 'hour', 'day', 'week'];
