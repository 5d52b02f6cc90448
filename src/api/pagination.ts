import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { KeysetPosition } from '../db/keyset';
import { ValidationError } from '../errors';

/**
 * The URL of another page of the same listing: the request's own path and query with some parameters replaced, under
 * the configured public URL, or relative without one. Never built from the Host header, which the client chooses.
 */
export function pageUrl(request: FastifyRequest, changes: Record<string, string | number | undefined>): string {
  const url = new URL(request.url, 'http://placeholder.invalid');
  for (const [name, value] of Object.entries(changes)) {
    if (value === undefined) url.searchParams.delete(name);
    else url.searchParams.set(name, String(value));
  }
  const pathAndQuery = `${url.pathname}${url.search}`;
  const base = request.server.publicUrl;
  return base ? `${base.replace(/\/+$/, '')}${pathAndQuery}` : pathAndQuery;
}

/** `next`/`previous` of a limit/offset listing. */
export function offsetLinks(request: FastifyRequest, page: { limit: number; offset: number; count: number }) {
  const { limit, offset, count } = page;
  return {
    next: offset + limit < count ? pageUrl(request, { offset: offset + limit, limit }) : null,
    previous: offset > 0 ? pageUrl(request, { offset: offset > limit ? offset - limit : undefined, limit }) : null,
  };
}

const Cursor = z.object({
  /** The ordering the cursor was made for: reusing it with another one would skip or repeat rows. */
  ordering: z.string(),
  direction: z.enum(['next', 'previous']),
  /**
   * Checked, since it ends up in SQL as a timestamptz: a forged cursor is a 400, not a database error. ISO 8601 has a
   * year 0000 (1 BC) that Postgres does not read.
   */
  value: z.iso.datetime().refine((value) => !value.startsWith('0000')),
  id: z.guid(),
});
export type Cursor = z.infer<typeof Cursor>;

/** Cursors are opaque to clients: base64url JSON. */
export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

export function decodeCursor(raw: string | undefined, ordering: string): Cursor | undefined {
  if (raw === undefined) return undefined;
  let parsed: z.ZodSafeParseResult<Cursor>;
  try {
    parsed = Cursor.safeParse(JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')));
  } catch {
    throw new ValidationError('Invalid cursor: use the next or previous link of a listing', 'cursor', 'invalid_cursor');
  }
  if (!parsed.success || parsed.data.ordering !== ordering) {
    throw new ValidationError('Invalid cursor: use the next or previous link of a listing', 'cursor', 'invalid_cursor');
  }
  return parsed.data;
}

/** `next`/`previous` links of a keyset page whose rows carry their sort value as `cursor_value`. */
export function cursorLinks(
  request: FastifyRequest,
  page: { rows: Array<{ id: string; cursor_value: string }>; more: boolean },
  ordering: string,
  cursor: Cursor | undefined,
) {
  const first = page.rows[0];
  const last = page.rows.at(-1);
  const readingBack = cursor?.direction === 'previous';
  // Rows lie after this page if it read forwards and found more, or read backwards (it started before a page).
  const hasNext = readingBack || page.more;
  const hasPrevious = readingBack ? page.more : cursor !== undefined;
  const link = (direction: Cursor['direction'], position: KeysetPosition) =>
    pageUrl(request, { cursor: encodeCursor({ ordering, direction, ...position }) });
  return {
    next: hasNext && last ? link('next', { value: last.cursor_value, id: last.id }) : null,
    previous: hasPrevious && first ? link('previous', { value: first.cursor_value, id: first.id }) : null,
  };
}
