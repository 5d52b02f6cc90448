import Table from 'cli-table3';

/** A table for the terminal: borders only between the header and the rows, as psql prints. */
export function table(head: string[], rows: (string | number | null)[][]): string {
  const output = new Table({
    head,
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
    chars: {
      top: '',
      'top-mid': '',
      'top-left': '',
      'top-right': '',
      bottom: '',
      'bottom-mid': '',
      'bottom-left': '',
      'bottom-right': '',
      left: '',
      'left-mid': '',
      mid: '',
      'mid-mid': '',
      right: '',
      'right-mid': '',
      middle: '  ',
    },
  });
  for (const row of rows) output.push(row.map((cell) => (cell === null ? '-' : String(cell))));
  // The header's separator line, which the character set above leaves out.
  const lines = output
    .toString()
    .split('\n')
    .map((line) => line.trimEnd());
  const rule = lines[0]!.replace(/./g, '-');
  return [lines[0], rule, ...lines.slice(1)].join('\n');
}

/** An ISO time without milliseconds: 2026-11-30T10:05:00Z. */
export function time(value: string | null | undefined): string {
  return value ? value.replace(/\.\d{3}Z$/, 'Z') : '-';
}

export function bytes(value: number | null): string {
  if (value === null) return '-';
  if (value < 1024) return `${value} B`;
  if (value < 1024 ** 2) return `${(value / 1024).toFixed(1)} KiB`;
  if (value < 1024 ** 3) return `${(value / 1024 ** 2).toFixed(1)} MiB`;
  return `${(value / 1024 ** 3).toFixed(2)} GiB`;
}
