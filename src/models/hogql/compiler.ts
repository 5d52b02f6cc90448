import { isUuid } from '../../ids';
import { EVENT_FIELDS, EVENT_PROPERTIES, jsonWithoutNul } from '../events';
import type { FieldType, ModelField } from '../types';
import { compileCall, type ExpressionCompiler } from './functions';
import { bigintOrNull, floatOrNull } from './numbers';
import { parseHogQL, type Expr, type Literal, type SelectQuery } from './parser';
import { HogQLError } from './tokenizer';
import { describe, NUMERIC, type Compiled, type ExprType } from './types';

/** Aliases become output names: JSON keys, Parquet and Postgres column names. Kept to plain identifiers. */
const ALIAS = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const TIMESTAMP_TEXT = /^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?(Z|[+-]\d{2}(:?\d{2})?)?$/;

const FIELDS = new Map(EVENT_FIELDS.map((field) => [field.name, field]));
const FIELD_LIST = EVENT_FIELDS.map((field) => field.name).join(', ');

/** Operators chained in one expression (`a + b + ...` nests one level per operator). */
const MAX_TREE_DEPTH = 500;

/** A hogql_query compiled against the events row source `r`: output fields and an optional WHERE condition. */
export interface CompiledHogQL {
  fields: ModelField[];
  where: string | null;
}

/** Parses and compiles a query; literals are appended to `values` and referenced as typed parameters. */
export function compileHogQL(text: string, values: unknown[]): CompiledHogQL {
  return new Compiler(values).query(parseHogQL(text));
}

/** Throws HogQLError when the query cannot be exported; used when an export is saved. */
export function validateHogQL(text: string): void {
  compileHogQL(text, []);
}

class Compiler implements ExpressionCompiler {
  private depth = 0;

  constructor(private readonly values: unknown[]) {}

  query(query: SelectQuery): CompiledHogQL {
    const fields: ModelField[] = [];
    for (const item of query.select) {
      const name = item.alias ?? defaultAlias(item.expr);
      if (!ALIAS.test(name)) {
        throw new HogQLError(
          `Alias "${name}" must be letters, digits and underscores, starting with a letter`,
          item.position,
        );
      }
      if (fields.some((field) => field.name === name)) {
        throw new HogQLError(`"${name}" is selected twice: give each expression its own alias`, item.position);
      }
      const compiled = this.expr(item.expr);
      if (compiled.type === 'null') fields.push({ name, type: 'string', expression: 'NULL::text' });
      else fields.push({ name, type: compiled.type, expression: compiled.sql });
    }
    let where: string | null = null;
    if (query.where) {
      where = this.expect(query.where, ['boolean'], 'The WHERE condition must be true or false').sql;
    }
    return { fields, where };
  }

  /** Compiles a sub-expression. Long operator chains make deep trees: refused before they exhaust the stack. */
  expr(expr: Expr): Compiled {
    if (++this.depth > MAX_TREE_DEPTH) {
      throw new HogQLError(`The expression is too deeply nested (over ${MAX_TREE_DEPTH} operations)`, expr.position);
    }
    try {
      return this.compile(expr);
    } finally {
      this.depth--;
    }
  }

  private compile(expr: Expr): Compiled {
    switch (expr.kind) {
      case 'literal':
        return this.literal(expr.value);
      case 'field': {
        const field = FIELDS.get(expr.name);
        if (!field)
          throw new HogQLError(
            `Unknown field "${expr.name}": use one of ${FIELD_LIST}, properties.<key>`,
            expr.position,
          );
        return { sql: field.expression, type: field.type };
      }
      case 'property': {
        const column = expr.source === 'properties' ? EVENT_PROPERTIES : jsonWithoutNul('r.person_properties');
        return { sql: `(${column} ->> ${this.param(expr.key, 'text')})`, type: 'string' };
      }
      case 'call':
        return compileCall(expr, this);
      case 'compare': {
        const [left, right] = this.comparable(expr.left, expr.right);
        if (expr.op !== '=' && expr.op !== '!=' && left.type === 'boolean') {
          throw new HogQLError(`Cannot order true/false values with ${expr.op}`, expr.position);
        }
        return { sql: `(${left.sql} ${expr.op === '!=' ? '<>' : expr.op} ${right.sql})`, type: 'boolean' };
      }
      case 'arithmetic':
        return this.arithmetic(expr);
      case 'logical': {
        const left = this.expect(expr.left, ['boolean'], `${expr.op} needs true/false operands`);
        const right = this.expect(expr.right, ['boolean'], `${expr.op} needs true/false operands`);
        return { sql: `(${left.sql} ${expr.op} ${right.sql})`, type: 'boolean' };
      }
      case 'not':
        return {
          sql: `(NOT ${this.expect(expr.operand, ['boolean'], 'NOT needs a true/false operand').sql})`,
          type: 'boolean',
        };
      case 'negate': {
        const operand = this.expect(expr.operand, ['integer', 'float'], 'Only numbers can be negated');
        // The smallest bigint has no positive counterpart.
        return {
          sql: operand.type === 'integer' ? bigintOrNull(`-${operand.sql}::numeric`) : `(-${operand.sql})`,
          type: operand.type,
        };
      }
      case 'isNull':
        return { sql: `(${this.expr(expr.operand).sql} IS ${expr.negated ? 'NOT ' : ''}NULL)`, type: 'boolean' };
      case 'like': {
        const operand = this.expect(expr.operand, ['string'], 'LIKE compares text');
        const pattern = this.expect(expr.pattern, ['string'], 'A LIKE pattern is text');
        const op = `${expr.negated ? 'NOT ' : ''}${expr.caseInsensitive ? 'ILIKE' : 'LIKE'}`;
        return { sql: `(${operand.sql} ${op} ${pattern.sql})`, type: 'boolean' };
      }
      case 'in': {
        const operand = this.expr(expr.operand);
        const list = expr.list.map((item) => this.comparableTo(operand, item).sql).join(', ');
        return { sql: `(${operand.sql} ${expr.negated ? 'NOT IN' : 'IN'} (${list}))`, type: 'boolean' };
      }
    }
  }

  /** Both sides of a comparison; a string literal against a timestamp or uuid is checked and cast to it. */
  private comparable(leftExpr: Expr, rightExpr: Expr): [Compiled, Compiled] {
    if (isNullLiteral(leftExpr) || isNullLiteral(rightExpr)) {
      throw new HogQLError('Comparing with NULL is never true: use IS NULL or IS NOT NULL', rightExpr.position);
    }
    // Each side is compiled once: a parameter pushed and then dropped would leave a hole Postgres cannot type.
    if (isTextLiteral(leftExpr) && !isTextLiteral(rightExpr)) {
      const right = this.expr(rightExpr);
      return [this.checkComparable(this.coerced(leftExpr, right.type) ?? this.expr(leftExpr), right, leftExpr), right];
    }
    const left = this.expr(leftExpr);
    return [left, this.comparableTo(left, rightExpr)];
  }

  /** `expr` compiled to compare with an already compiled `left`. */
  private comparableTo(left: Compiled, expr: Expr): Compiled {
    if (isNullLiteral(expr))
      throw new HogQLError('Comparing with NULL is never true: use IS NULL or IS NOT NULL', expr.position);
    return this.checkComparable(this.coerced(expr, left.type) ?? this.expr(expr), left, expr);
  }

  private checkComparable(compiled: Compiled, other: Compiled, expr: Expr): Compiled {
    const compatible = compiled.type === other.type || (NUMERIC.has(compiled.type) && NUMERIC.has(other.type));
    if (!compatible || compiled.type === 'json') {
      throw new HogQLError(
        `Cannot compare ${describe(other.type)} with ${describe(compiled.type)}: convert one side with toString, toInt or toFloat`,
        expr.position,
      );
    }
    return compiled;
  }

  private coerced(expr: Expr, target: ExprType): Compiled | null {
    if (expr.kind !== 'literal' || typeof expr.value !== 'string') return null;
    if (target === 'timestamp') {
      if (!TIMESTAMP_TEXT.test(expr.value) || Number.isNaN(Date.parse(expr.value.replace(' ', 'T')))) {
        throw new HogQLError(`"${expr.value}" is not a timestamp: use e.g. '2024-05-01T10:00:00Z'`, expr.position);
      }
      return { sql: this.param(expr.value, 'timestamptz'), type: 'timestamp' };
    }
    if (target === 'uuid') {
      if (!isUuid(expr.value)) throw new HogQLError(`"${expr.value}" is not a uuid`, expr.position);
      return { sql: this.param(expr.value, 'uuid'), type: 'uuid' };
    }
    return null;
  }

  private arithmetic(expr: Extract<Expr, { kind: 'arithmetic' }>): Compiled {
    if (expr.op === '||') {
      const left = this.expect(expr.left, ['string'], '|| joins text');
      const right = this.expect(expr.right, ['string'], '|| joins text');
      return { sql: `(${left.sql} || ${right.sql})`, type: 'string' };
    }
    const allowed: FieldType[] = expr.op === '%' ? ['integer'] : ['integer', 'float'];
    const message =
      expr.op === '%' ? '% needs whole numbers' : `${expr.op} needs numbers: convert text with toInt or toFloat`;
    const left = this.expect(expr.left, allowed, message);
    const right = this.expect(expr.right, allowed, message);
    // Division or modulo by zero and overflow give NULL for that row instead of failing the whole export: the
    // arithmetic is done in numeric, which does not overflow, and kept only if it fits the result type.
    if (expr.op === '%') return { sql: `(${left.sql} % nullif(${right.sql}, 0))`, type: 'integer' };
    if (expr.op === '/') {
      return { sql: floatOrNull(`${left.sql}::numeric / nullif(${right.sql}::numeric, 0)`), type: 'float' };
    }
    const result = `${left.sql}::numeric ${expr.op} ${right.sql}::numeric`;
    return left.type === 'integer' && right.type === 'integer'
      ? { sql: bigintOrNull(result), type: 'integer' }
      : { sql: floatOrNull(result), type: 'float' };
  }

  expect(expr: Expr, types: ExprType[], message: string): Compiled {
    const compiled = this.expr(expr);
    if (!types.includes(compiled.type) && compiled.type !== 'null') {
      throw new HogQLError(`${message} (got ${describe(compiled.type)})`, expr.position);
    }
    return compiled;
  }

  private literal(value: Literal): Compiled {
    if (value === null) return { sql: 'NULL', type: 'null' };
    if (typeof value === 'boolean') return { sql: this.param(value, 'boolean'), type: 'boolean' };
    if (typeof value === 'string') return { sql: this.param(value, 'text'), type: 'string' };
    if (!Number.isFinite(value)) throw new HogQLError(`Number ${value} is too large`, 0);
    return Number.isSafeInteger(value)
      ? { sql: this.param(value, 'bigint'), type: 'integer' }
      : { sql: this.param(value, 'double precision'), type: 'float' };
  }

  private param(value: unknown, cast: string): string {
    this.values.push(value);
    return `$${this.values.length}::${cast}`;
  }
}

function isTextLiteral(expr: Expr): boolean {
  return expr.kind === 'literal' && typeof expr.value === 'string';
}

function isNullLiteral(expr: Expr): boolean {
  return expr.kind === 'literal' && expr.value === null;
}

function defaultAlias(expr: Expr): string {
  if (expr.kind === 'field') return expr.name;
  if (expr.kind === 'property' && ALIAS.test(expr.key)) return expr.key;
  throw new HogQLError('Give this expression a name with AS <alias>', expr.position);
}
