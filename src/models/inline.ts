import { escapeLiteral } from 'pg';
import type { SqlQuery } from './types';

/**
 * The query with its `$n` parameters written in as literals, for statements that take no parameters (COPY).
 * Each value becomes a quoted literal of unknown type, as a parameter sent as text is: Postgres types it from its
 * context exactly as it did the parameter. Quoted text, quoted identifiers and comments are left alone; a query
 * using dollar quoting is refused rather than guessed at (no model query uses it).
 */
export function inlineParameters(query: SqlQuery): string {
  const { text, values } = query;
  let out = '';
  let at = 0;
  while (at < text.length) {
    const char = text[at]!;
    const next = text[at + 1];
    let end: number;
    if (char === "'") {
      // E'...' allows backslash escapes; a standard string only doubled quotes (standard_conforming_strings is on).
      end = quotedEnd(text, at, "'", /[eE]/.test(text[at - 1] ?? '') && !/\w/.test(text[at - 2] ?? ''));
    } else if (char === '"') {
      end = quotedEnd(text, at, '"', false);
    } else if (char === '-' && next === '-') {
      end = text.indexOf('\n', at);
      end = end < 0 ? text.length : end + 1;
    } else if (char === '/' && next === '*') {
      end = text.indexOf('*/', at + 2);
      if (end < 0) throw new SyntaxError('Unterminated comment in a model query');
      end += 2;
    } else if (char === '$') {
      const match = /^\$(\d+)/.exec(text.slice(at, at + 12));
      if (!match) throw new SyntaxError('Dollar quoting is not supported in model queries');
      const index = Number(match[1]) - 1;
      if (index < 0 || index >= values.length) throw new RangeError(`No value for parameter ${match[0]}`);
      out += sqlLiteral(values[index]);
      at += match[0].length;
      continue;
    } else {
      end = at + 1;
    }
    out += text.slice(at, end);
    at = end;
  }
  return out;
}

function quotedEnd(text: string, start: number, quote: string, backslashEscapes: boolean): number {
  for (let i = start + 1; i < text.length; i++) {
    if (backslashEscapes && text[i] === '\\') {
      i++;
    } else if (text[i] === quote) {
      if (text[i + 1] === quote) i++;
      else return i + 1;
    }
  }
  throw new SyntaxError('Unterminated quoted text in a model query');
}

/** A value as a literal of unknown type: what node-postgres would have sent as a text parameter. */
export function sqlLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  return escapeLiteral(parameterText(value));
}

function parameterText(value: unknown): string {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new RangeError('An invalid date cannot be a query parameter');
    return value.toISOString();
  }
  if (Array.isArray(value)) return `{${value.map(arrayElement).join(',')}}`;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  throw new TypeError(`A ${typeof value} cannot be a query parameter`);
}

function arrayElement(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (Array.isArray(value)) return `{${value.map(arrayElement).join(',')}}`;
  return `"${parameterText(value).replace(/[\\"]/g, '\\$&')}"`;
}
