/** `--name value` from the command line, as a number. */
export function numberArgument(name: string, fallback: number): number {
  const value = stringArgument(name);
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed)) throw new Error(`--${name} must be a number, not ${JSON.stringify(value)}`);
  return parsed;
}

/** `--name value` from the command line. */
export function stringArgument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

/** What a suite measured: rows for bench/results/latest.json and a table for the terminal. */
export interface SuiteResult {
  rows: object[];
  table: Array<Record<string, string | number>>;
}

/** `>= 1x met` / `>= 1x MISSED` for the table. */
export function verdict(value: number | null, target: number | null, unit = 'x', atMost = false): string {
  if (target === null) return '';
  const met = value !== null && (atMost ? value <= target : value >= target);
  return `${atMost ? '<=' : '>='} ${target}${unit} ${met ? 'met' : 'MISSED'}`;
}
