/**
 * Keyset ("cursor") pagination: a page starts strictly after (or before) the (sort value, id) of the row a cursor
 * names, so pages stay stable while new rows arrive, unlike OFFSET. Sort values travel as Postgres text, keeping the
 * microseconds a JavaScript Date would drop.
 */

/** Where a page starts: the sort value and id of the row just outside it. */
export interface KeysetPosition {
  value: string;
  id: string;
}

export interface KeysetOptions {
  /** A timestamptz column, from the caller's whitelist: it is written into the SQL. */
  column: string;
  descending: boolean;
  /** `next` reads the rows after `position` in sort order, `previous` the rows before it. */
  direction: 'next' | 'previous';
  position?: KeysetPosition;
  limit: number;
}

/** SQL fragments for one page: a condition (or TRUE), ORDER BY and LIMIT, using params from `firstParam` on. */
export function keysetSql(
  options: KeysetOptions,
  firstParam: number,
): { where: string; tail: string; params: unknown[] } {
  // Reading backwards is reading forwards in the opposite order; the page is reversed again afterwards.
  const descending = options.direction === 'next' ? options.descending : !options.descending;
  const order = descending ? 'DESC' : 'ASC';
  const tail = `ORDER BY ${options.column} ${order}, id ${order} LIMIT ${options.limit + 1}`;
  if (!options.position) return { where: 'TRUE', tail, params: [] };
  const where = `(${options.column}, id) ${descending ? '<' : '>'} ($${firstParam}::timestamptz, $${firstParam + 1}::uuid)`;
  return { where, tail, params: [options.position.value, options.position.id] };
}

/** The text of a sort column as keysetSql expects it back: `SELECT ${keysetValue('created_at')} AS cursor_value`. */
export function keysetValue(column: string): string {
  return `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

/** Puts a page fetched with keysetSql in sort order and says whether rows lie beyond it. */
export function keysetPage<T>(rows: T[], options: KeysetOptions): { rows: T[]; more: boolean } {
  const more = rows.length > options.limit;
  const page = rows.slice(0, options.limit);
  if (options.direction === 'previous') page.reverse();
  return { rows: page, more };
}
