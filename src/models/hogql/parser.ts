import { HogQLError, tokenize, type Token } from './tokenizer';

export type Literal = string | number | boolean | null;
export type ComparisonOperator = '=' | '!=' | '<' | '<=' | '>' | '>=';
export type ArithmeticOperator = '+' | '-' | '*' | '/' | '%' | '||';

/** An expression of a hogql_query; `position` points at its first character, for error messages. */
export type Expr = { position: number } & (
  | { kind: 'literal'; value: Literal }
  | { kind: 'field'; name: string }
  | { kind: 'property'; source: 'properties' | 'person_properties'; key: string }
  | { kind: 'call'; name: string; args: Expr[] }
  | { kind: 'compare'; op: ComparisonOperator; left: Expr; right: Expr }
  | { kind: 'arithmetic'; op: ArithmeticOperator; left: Expr; right: Expr }
  | { kind: 'logical'; op: 'AND' | 'OR'; left: Expr; right: Expr }
  | { kind: 'not'; operand: Expr }
  | { kind: 'negate'; operand: Expr }
  | { kind: 'isNull'; operand: Expr; negated: boolean }
  | { kind: 'like'; operand: Expr; pattern: Expr; negated: boolean; caseInsensitive: boolean }
  | { kind: 'in'; operand: Expr; list: Expr[]; negated: boolean }
);

export interface SelectItem {
  expr: Expr;
  /** As written after AS; null when left out. */
  alias: string | null;
  position: number;
}

export interface SelectQuery {
  select: SelectItem[];
  where: Expr | null;
}

/** Clauses and keywords a restricted query may not use, with what to tell the user. */
const REFUSED: Record<string, string> = {
  JOIN: 'Joins are not supported: select from events only',
  UNION: 'UNION is not supported: write one SELECT',
  INTERSECT: 'INTERSECT is not supported: write one SELECT',
  EXCEPT: 'EXCEPT is not supported: write one SELECT',
  GROUP: 'GROUP BY is not supported: batch exports export rows, not aggregates',
  HAVING: 'HAVING is not supported',
  ORDER: 'ORDER BY is not supported: rows are exported in insertion order',
  LIMIT: 'LIMIT is not supported: an export exports every row of its interval',
  OFFSET: 'OFFSET is not supported',
  WITH: 'WITH is not supported: write one SELECT ... FROM events',
  DISTINCT: 'DISTINCT is not supported: events are already deduplicated by uuid',
  SELECT: 'Subqueries are not supported',
  INTO: 'INTO is not supported',
  SETTINGS: 'SETTINGS is not supported',
  FORMAT: 'FORMAT is not supported',
};

/** Words with a meaning in the grammar; they cannot name a field or alias unless quoted. */
const RESERVED = new Set([
  ...Object.keys(REFUSED),
  'FROM',
  'WHERE',
  'AS',
  'AND',
  'OR',
  'NOT',
  'IS',
  'NULL',
  'TRUE',
  'FALSE',
  'LIKE',
  'ILIKE',
  'IN',
  'ON',
  'USING',
  'LEFT',
  'RIGHT',
  'INNER',
  'OUTER',
  'CROSS',
  'FULL',
  'ARRAY',
]);

const COMPARISONS: Record<string, ComparisonOperator> = {
  '=': '=',
  '==': '=',
  '!=': '!=',
  '<>': '!=',
  '<': '<',
  '<=': '<=',
  '>': '>',
  '>=': '>=',
};

/** Parentheses, function calls, NOT and unary minus nested deeper than this are refused. */
const MAX_DEPTH = 64;

/** Parses `SELECT expr [AS alias], ... FROM events [WHERE expr]`. Throws HogQLError naming the first problem. */
export function parseHogQL(text: string): SelectQuery {
  return new Parser(tokenize(text)).query();
}

class Parser {
  private index = 0;
  private depth = 0;
  constructor(private readonly tokens: Token[]) {}

  query(): SelectQuery {
    this.expectKeyword('SELECT', 'A hogql_query starts with SELECT');
    if (this.peek().value === '*') throw this.error('SELECT * is not supported: list the fields to export');
    const select: SelectItem[] = [];
    do {
      const position = this.peek().position;
      const expr = this.expression();
      const alias = this.acceptKeyword('AS') ? this.name('an alias after AS') : null;
      select.push({ expr, alias, position });
    } while (this.acceptSymbol(','));
    this.expectKeyword('FROM', 'Expected FROM events after the selected fields');
    const table = this.peek();
    if (table.type === 'symbol' && table.value === '(') throw this.error('Subqueries are not supported');
    const tableName = this.name('a table name after FROM');
    if (tableName !== 'events') {
      throw new HogQLError(`Unknown table "${tableName}": a hogql_query can only select FROM events`, table.position);
    }
    if (this.peek().type === 'word' && !this.isKeyword(this.peek(), 'WHERE')) {
      throw this.error(
        REFUSED[this.peek().value.toUpperCase()] ??
          `Table aliases and joins are not supported: select FROM events only`,
      );
    }
    const where = this.acceptKeyword('WHERE') ? this.expression() : null;
    this.acceptSymbol(';');
    const end = this.peek();
    if (end.type !== 'end') {
      if (end.type === 'symbol' && end.value === ',')
        throw this.error('Joins are not supported: select from events only');
      throw this.error(REFUSED[end.value.toUpperCase()] ?? `Unexpected "${end.value}" after the query`);
    }
    return { select, where };
  }

  private expression(): Expr {
    return this.or();
  }

  private or(): Expr {
    let left = this.and();
    while (this.acceptKeyword('OR'))
      left = { kind: 'logical', op: 'OR', left, right: this.and(), position: left.position };
    return left;
  }

  private and(): Expr {
    let left = this.not();
    while (this.acceptKeyword('AND'))
      left = { kind: 'logical', op: 'AND', left, right: this.not(), position: left.position };
    return left;
  }

  private not(): Expr {
    const position = this.peek().position;
    if (this.acceptKeyword('NOT')) return { kind: 'not', operand: this.nested(() => this.not()), position };
    return this.comparison();
  }

  private comparison(): Expr {
    const left = this.additive();
    const position = left.position;
    const token = this.peek();
    if (token.type === 'symbol' && COMPARISONS[token.value]) {
      this.index++;
      return { kind: 'compare', op: COMPARISONS[token.value]!, left, right: this.additive(), position };
    }
    if (this.acceptKeyword('IS')) {
      const negated = this.acceptKeyword('NOT');
      this.expectKeyword('NULL', 'Expected NULL after IS');
      return { kind: 'isNull', operand: left, negated, position };
    }
    const negated = this.acceptKeyword('NOT');
    if (this.isKeyword(this.peek(), 'LIKE') || this.isKeyword(this.peek(), 'ILIKE')) {
      const caseInsensitive = this.next().value.toUpperCase() === 'ILIKE';
      return { kind: 'like', operand: left, pattern: this.additive(), negated, caseInsensitive, position };
    }
    if (this.acceptKeyword('IN')) {
      this.expectSymbol('(', 'Expected ( after IN');
      if (this.isKeyword(this.peek(), 'SELECT')) throw this.error('Subqueries are not supported');
      const list: Expr[] = [];
      do list.push(this.additive());
      while (this.acceptSymbol(','));
      this.expectSymbol(')', 'Expected ) to close the IN list');
      return { kind: 'in', operand: left, list, negated, position };
    }
    if (negated) throw this.error('Expected LIKE, ILIKE or IN after NOT');
    return left;
  }

  private additive(): Expr {
    let left = this.multiplicative();
    for (;;) {
      const op = this.peek().value;
      if (this.peek().type !== 'symbol' || (op !== '+' && op !== '-' && op !== '||')) return left;
      this.index++;
      left = { kind: 'arithmetic', op, left, right: this.multiplicative(), position: left.position };
    }
  }

  private multiplicative(): Expr {
    let left = this.unary();
    for (;;) {
      const op = this.peek().value;
      if (this.peek().type !== 'symbol' || (op !== '*' && op !== '/' && op !== '%')) return left;
      this.index++;
      left = { kind: 'arithmetic', op, left, right: this.unary(), position: left.position };
    }
  }

  private unary(): Expr {
    const position = this.peek().position;
    if (this.acceptSymbol('-')) return { kind: 'negate', operand: this.nested(() => this.unary()), position };
    return this.primary();
  }

  private primary(): Expr {
    const token = this.next();
    const position = token.position;
    switch (token.type) {
      case 'number':
        return { kind: 'literal', value: Number(token.value), position };
      case 'string':
        return { kind: 'literal', value: token.value, position };
      case 'symbol':
        if (token.value === '(') {
          if (this.isKeyword(this.peek(), 'SELECT')) throw this.error('Subqueries are not supported');
          const inner = this.nested(() => this.expression());
          this.expectSymbol(')', 'Expected ) to close the parenthesis');
          return inner;
        }
        throw new HogQLError(
          token.value === ')' || token.value === ',' ? 'Expected an expression' : `Unexpected "${token.value}"`,
          position,
        );
      case 'end':
        throw new HogQLError('The query ends too early: an expression is missing', position);
      case 'word':
      case 'quoted':
        return this.named(token);
    }
  }

  private named(token: Token): Expr {
    const position = token.position;
    if (token.type === 'word') {
      const upper = token.value.toUpperCase();
      if (upper === 'NULL') return { kind: 'literal', value: null, position };
      if (upper === 'TRUE' || upper === 'FALSE') return { kind: 'literal', value: upper === 'TRUE', position };
      if (REFUSED[upper]) throw new HogQLError(REFUSED[upper]!, position);
      if (RESERVED.has(upper)) throw new HogQLError(`Unexpected keyword ${upper}`, position);
    }
    if (token.type === 'word' && this.acceptSymbol('(')) {
      if (this.isKeyword(this.peek(), 'SELECT')) throw this.error('Subqueries are not supported');
      const args: Expr[] = [];
      if (!this.acceptSymbol(')')) {
        do args.push(this.nested(() => this.expression()));
        while (this.acceptSymbol(','));
        this.expectSymbol(')', `Expected ) to close the arguments of ${token.value}`);
      }
      return { kind: 'call', name: token.value, args, position };
    }
    if (this.acceptSymbol('.')) {
      const keyToken = this.next();
      // After a dot every word is a name: `properties.order` is a property, not ORDER BY.
      if (keyToken.type !== 'word' && keyToken.type !== 'quoted') {
        throw new HogQLError('Expected a property name after the dot', keyToken.position);
      }
      const key = keyToken.value;
      if (token.value === 'properties' || token.value === 'person_properties') {
        if (this.peek().type === 'symbol' && this.peek().value === '.') {
          throw this.error(`Nested properties are not supported: use JSONExtractString(${token.value}, '${key}', ...)`);
        }
        return { kind: 'property', source: token.value, key, position };
      }
      if (token.value === 'events') return { kind: 'field', name: key, position: keyToken.position };
      throw new HogQLError(
        `Unknown table or object "${token.value}": use properties.<key> or person_properties.<key>`,
        position,
      );
    }
    return { kind: 'field', name: token.value, position };
  }

  /** A word or quoted identifier. */
  private name(what: string): string {
    const token = this.next();
    if (token.type === 'quoted' || (token.type === 'word' && !RESERVED.has(token.value.toUpperCase())))
      return token.value;
    throw new HogQLError(`Expected ${what}${token.type === 'end' ? '' : `, found "${token.value}"`}`, token.position);
  }

  private peek(): Token {
    return this.tokens[this.index]!;
  }

  private next(): Token {
    const token = this.tokens[this.index]!;
    if (token.type !== 'end') this.index++;
    return token;
  }

  private isKeyword(token: Token, keyword: string): boolean {
    return token.type === 'word' && token.value.toUpperCase() === keyword;
  }

  private acceptKeyword(keyword: string): boolean {
    if (!this.isKeyword(this.peek(), keyword)) return false;
    this.index++;
    return true;
  }

  private expectKeyword(keyword: string, message: string): void {
    if (!this.acceptKeyword(keyword)) throw this.error(message);
  }

  private acceptSymbol(symbol: string): boolean {
    const token = this.peek();
    if (token.type !== 'symbol' || token.value !== symbol) return false;
    this.index++;
    return true;
  }

  private expectSymbol(symbol: string, message: string): void {
    if (!this.acceptSymbol(symbol)) throw this.error(message);
  }

  /** Parses something nested inside the current expression; deep nesting would exhaust the stack, not the query. */
  private nested<T>(parse: () => T): T {
    if (++this.depth > MAX_DEPTH) {
      throw new HogQLError(`Expressions are nested more than ${MAX_DEPTH} levels deep`, this.peek().position);
    }
    try {
      return parse();
    } finally {
      this.depth--;
    }
  }

  private error(message: string): HogQLError {
    return new HogQLError(message, this.peek().position);
  }
}
