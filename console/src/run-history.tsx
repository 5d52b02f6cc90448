import { BarController, BarElement, CategoryScale, Chart, LinearScale, Tooltip } from 'chart.js';
import { useEffect, useRef } from 'preact/hooks';
import { bytes, intervalMs, number, statusClass, time } from './format';
import type { Run, Status } from './types';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip);

/** One interval of the strip: its run, or none (a gap). */
export interface Cell {
  end: string;
  run: Run | null;
}

/**
 * The last `count` intervals up to the newest that has ended, each with its latest run. Intervals are stepped back by
 * the export's interval from the newest end (a run's, or now rounded down): exact for minute and hour intervals,
 * which line up with UTC; a day or week interval across a DST change shows its run beside the cell it misses.
 */
export function historyCells(interval: string, runs: Run[], count: number, now = Date.now()): Cell[] {
  const step = intervalMs(interval);
  const byEnd = new Map<number, Run>();
  for (const run of runs) {
    const end = Date.parse(run.data_interval_end);
    const known = byEnd.get(end);
    if (!known || known.created_at < run.created_at) byEnd.set(end, run);
  }
  const aligned = step <= 3_600_000 ? Math.floor(now / step) * step : 0;
  const newest = Math.max(aligned, ...byEnd.keys());
  const cells: Cell[] = [];
  for (let index = count - 1; index >= 0; index--) {
    const end = newest - index * step;
    cells.push({ end: new Date(end).toISOString(), run: byEnd.get(end) ?? null });
  }
  return cells;
}

export function describeCell({ end, run }: Cell): string {
  if (!run) return `${time(end)}: no run (gap)`;
  const parts = [`${time(end)}: ${run.status}`];
  if (run.records_completed !== null) parts.push(`${number(run.records_completed)} rows`);
  if (run.bytes_exported !== null) parts.push(bytes(run.bytes_exported));
  if (run.latest_error) parts.push(run.latest_error);
  return parts.join(', ');
}

/** One cell per interval, coloured by status; hover (or focus) tells rows, bytes and error; click selects the run. */
export function RunStrip(props: { cells: Cell[]; selected: string | null; onSelect: (run: Run) => void }) {
  return (
    <div class="strip" role="group" aria-label="Run history, oldest to newest">
      {props.cells.map((cell) => {
        const status: Status | 'Missing' = cell.run?.status ?? 'Missing';
        const label = describeCell(cell);
        return (
          <button
            key={cell.end}
            type="button"
            class={`cell ${statusClass(status)}${cell.run && cell.run.id === props.selected ? ' selected' : ''}`}
            title={label}
            aria-label={label}
            data-status={status}
            data-interval-end={cell.end}
            disabled={!cell.run}
            onClick={() => cell.run && props.onSelect(cell.run)}
          />
        );
      })}
    </div>
  );
}

const COLOURS: Record<string, string> = {
  'status-ok': '#2f855a',
  'status-failed': '#c53030',
  'status-running': '#2b6cb0',
  'status-cancelled': '#718096',
  'status-missing': '#e2e8f0',
};

/** Rows exported per interval, as a bar chart (chart.js), coloured like the strip. */
export function RowsChart({ cells }: { cells: Cell[] }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart<'bar'> | null>(null);
  useEffect(() => {
    chart.current = new Chart(canvas.current!, {
      type: 'bar',
      data: { labels: [], datasets: [{ label: 'Rows', data: [], backgroundColor: [] }] },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        scales: { y: { beginAtZero: true, title: { display: true, text: 'rows' } } },
        plugins: { legend: { display: false } },
      },
    });
    return () => chart.current?.destroy();
  }, []);
  useEffect(() => {
    const current = chart.current;
    if (!current) return;
    current.data.labels = cells.map((cell) => time(cell.end).slice(5, 16));
    const dataset = current.data.datasets[0]!;
    dataset.data = cells.map((cell) => cell.run?.records_completed ?? 0);
    dataset.backgroundColor = cells.map((cell) => COLOURS[statusClass(cell.run?.status ?? 'Missing')]!);
    current.update();
  }, [cells]);
  const total = cells.reduce((sum, cell) => sum + (cell.run?.records_completed ?? 0), 0);
  return (
    <figure class="chart">
      <div class="chart-box">
        <canvas ref={canvas} role="img" aria-label={`Rows per interval: ${number(total)} in the intervals shown`} />
      </div>
      <figcaption>Rows per interval ({number(total)} in the intervals shown)</figcaption>
    </figure>
  );
}
