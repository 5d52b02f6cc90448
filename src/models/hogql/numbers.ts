/**
 * Arithmetic that cannot fail a row: Postgres raises on bigint and double overflow (and double underflow), which
 * would fail a whole export over one event. Values are computed in numeric, which does not overflow, and kept only
 * when they fit the result type; otherwise the row gets NULL.
 */

/**
 * A numeric value as bigint (truncated toward zero), NULL when it does not fit. The value is named once in a subquery, so that nested
 * arithmetic does not repeat its SQL.
 */
export function bigintOrNull(numeric: string): string {
  return `(SELECT CASE WHEN trunc(v) BETWEEN ${BIGINT_MIN} AND ${BIGINT_MAX} THEN trunc(v)::bigint END FROM (VALUES (${numeric})) AS n(v))`;
}

/**
 * A numeric value as double precision, NULL when it would overflow or underflow (Postgres raises on both). Doubles
 * pass through numeric with 15 significant digits, as Postgres converts them.
 */
export function floatOrNull(numeric: string): string {
  return `(SELECT CASE WHEN v = 0 OR abs(v) BETWEEN ${FLOAT_MIN} AND ${FLOAT_MAX} THEN v::double precision END FROM (VALUES (${numeric})) AS n(v))`;
}

const BIGINT_MIN = '-9223372036854775808';
const BIGINT_MAX = '9223372036854775807';
// The smallest normal and the largest finite double.
const FLOAT_MIN = '2.2250738585072014e-308';
const FLOAT_MAX = '1.7976931348623157e308';
