/** A problem with a hogql_query, with the 0-based character position it was found at. */
export class HogQLError extends Error {
  override name = 'HogQLError';
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(`${message} (at character ${position + 1})`);
  }
}

export type TokenType = 'word' | 'quoted' | 'string' | 'number' | 'symbol' | 'end';

export interface Token {
  type: TokenType;
  /** The word as written, the unescaped content of a quoted identifier or string, the number's text, the symbol. */
  value: string;
  position: number;
}

// Longest first, so `<=` is not read as `<` then `=`.
const SYMBOLS = ['==', '!=', '<>', '<=', '>=', '||', '=', '<', '>', '+', '-', '*', '/', '%', '(', ')', ',', '.', ';'];
const STRING_ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'" };

/** Splits a query into tokens. Comments are refused: nothing in a query should be invisible to the reader. */
export function tokenize(text: string): Token[] {
  const nul = text.indexOf('\u0000');
  if (nul >= 0) throw new HogQLError('NUL characters are not allowed', nul);
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const char = text[i]!;
    if (/\s/.test(char)) {
      i++;
    } else if (text.startsWith('--', i) || text.startsWith('/*', i) || char === '#') {
      throw new HogQLError('Comments are not allowed', i);
    } else if (/[A-Za-z_$]/.test(char)) {
      const match = /^[A-Za-z_$][A-Za-z0-9_$]*/.exec(text.slice(i))!;
      tokens.push({ type: 'word', value: match[0], position: i });
      i += match[0].length;
    } else if (/[0-9]/.test(char)) {
      const match = /^[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?/.exec(text.slice(i))!;
      if (/[A-Za-z_$]/.test(text[i + match[0].length] ?? '')) {
        throw new HogQLError(`Malformed number "${text.slice(i, i + match[0].length + 1)}"`, i);
      }
      tokens.push({ type: 'number', value: match[0], position: i });
      i += match[0].length;
    } else if (char === "'") {
      const { value, end } = readQuoted(text, i, "'", true);
      tokens.push({ type: 'string', value, position: i });
      i = end;
    } else if (char === '`' || char === '"') {
      const { value, end } = readQuoted(text, i, char, false);
      if (value.length === 0) throw new HogQLError('Empty quoted identifier', i);
      tokens.push({ type: 'quoted', value, position: i });
      i = end;
    } else {
      const symbol = SYMBOLS.find((candidate) => text.startsWith(candidate, i));
      if (!symbol) throw new HogQLError(`Unexpected character "${char}"`, i);
      tokens.push({ type: 'symbol', value: symbol, position: i });
      i += symbol.length;
    }
  }
  tokens.push({ type: 'end', value: '', position: text.length });
  return tokens;
}

/** Reads a quoted string or identifier starting at `start`; a doubled quote stands for itself. */
function readQuoted(text: string, start: number, quote: string, escapes: boolean): { value: string; end: number } {
  let value = '';
  let i = start + 1;
  while (i < text.length) {
    const char = text[i]!;
    if (char === quote) {
      if (text[i + 1] === quote) {
        value += quote;
        i += 2;
        continue;
      }
      return { value, end: i + 1 };
    }
    if (escapes && char === '\\') {
      const escaped = STRING_ESCAPES[text[i + 1] ?? ''];
      if (escaped === undefined) throw new HogQLError(`Unknown escape "\\${text[i + 1] ?? ''}" in string`, i);
      value += escaped;
      i += 2;
      continue;
    }
    value += char;
    i++;
  }
  throw new HogQLError(`Unterminated ${escapes ? 'string' : 'quoted identifier'}`, start);
}
