import { jsonWithoutNul } from '../events';
import { numericOrNull } from '../filters';
import type { Expr } from './parser';
import { bigintOrNull, floatOrNull } from './numbers';
import { HogQLError } from './tokenizer';
import { describe, NUMERIC, type Compiled, type ExprType } from './types';

/** What a function needs of the compiler: its arguments compiled, with their types checked. */
export interface ExpressionCompiler {
  expr(expr: Expr): Compiled;
  expect(expr: Expr, types: ExprType[], message: string): Compiled;
}

/** The functions a hogql_query may call, compiled to their Postgres equivalents. */
export function compileCall(expr: Extract<Expr, { kind: 'call' }>, compiler: ExpressionCompiler): Compiled {
  const name = expr.name.toLowerCase();
  const arity = (min: number, max: number) => {
    if (expr.args.length < min || expr.args.length > max) {
      const count = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
      throw new HogQLError(`${expr.name} takes ${count} argument${max === 1 ? '' : 's'}`, expr.position);
    }
  };
  const text = (arg: Expr) => compiler.expect(arg, ['string'], `${expr.name} takes text: convert with toString`).sql;
  switch (name) {
    case 'tostring': {
      arity(1, 1);
      return { sql: `(${compiler.expr(expr.args[0]!).sql})::text`, type: 'string' };
    }
    case 'lower':
    case 'upper':
    case 'trim':
      arity(1, 1);
      return { sql: `${name === 'trim' ? 'btrim' : name}(${text(expr.args[0]!)})`, type: 'string' };
    case 'length':
      arity(1, 1);
      return { sql: `char_length(${text(expr.args[0]!)})`, type: 'integer' };
    case 'concat':
      arity(2, Infinity);
      return {
        sql: `concat(${expr.args.map((arg) => `(${compiler.expr(arg).sql})::text`).join(', ')})`,
        type: 'string',
      };
    case 'coalesce': {
      arity(1, Infinity);
      const args = expr.args.map((arg) => compiler.expr(arg));
      const types = new Set(args.map((arg) => arg.type).filter((type) => type !== 'null'));
      const type = types.size === 2 && [...types].every((t) => NUMERIC.has(t)) ? 'float' : ([...types][0] ?? 'null');
      if (types.size > 1 && type !== 'float') {
        throw new HogQLError(
          `coalesce needs arguments of one type, got ${[...types].map(describe).join(' and ')}`,
          expr.position,
        );
      }
      return { sql: `coalesce(${args.map((arg) => arg.sql).join(', ')})`, type };
    }
    case 'toint':
    case 'tofloat': {
      arity(1, 1);
      const arg = compiler.expect(
        expr.args[0]!,
        ['string', 'integer', 'float', 'boolean'],
        `${expr.name} converts text, numbers or true/false`,
      );
      const type = name === 'toint' ? 'integer' : 'float';
      if (arg.type === 'boolean')
        return { sql: `(${arg.sql})::int::${type === 'integer' ? 'bigint' : 'double precision'}`, type };
      if (arg.type === type) return arg;
      // Text that is not a number, and a number out of the type's range ("1e400"), become NULL instead of failing
      // the export: one event's odd property must not stop a team's exports.
      const numeric = arg.type === 'string' ? numericOrNull(arg.sql) : `${arg.sql}::numeric`;
      return { sql: type === 'integer' ? bigintOrNull(numeric) : floatOrNull(numeric), type };
    }
    case 'todate': {
      arity(1, 1);
      const timestamp = compiler.expect(expr.args[0]!, ['timestamp'], `${expr.name} takes a timestamp`);
      return { sql: `to_char(${timestamp.sql} AT TIME ZONE 'UTC', 'YYYY-MM-DD')`, type: 'string' };
    }
    case 'tostartofhour':
    case 'tostartofday': {
      arity(1, 1);
      const timestamp = compiler.expect(expr.args[0]!, ['timestamp'], `${expr.name} takes a timestamp`);
      const unit = name === 'tostartofhour' ? 'hour' : 'day';
      return { sql: `date_trunc('${unit}', ${timestamp.sql}, 'UTC')`, type: 'timestamp' };
    }
    case 'jsonextractstring': {
      arity(2, Infinity);
      const json = compiler.expect(
        expr.args[0]!,
        ['json'],
        'JSONExtractString reads properties, person_properties, set or set_once',
      );
      const path = expr.args.slice(1).map(text).join(', ');
      return { sql: `(${jsonWithoutNul(json.sql)} #>> ARRAY[${path}])`, type: 'string' };
    }
    default:
      throw new HogQLError(
        `Unknown function "${expr.name}": use toString, lower, upper, trim, length, concat, coalesce, toInt, toFloat, JSONExtractString, toDate, toStartOfHour or toStartOfDay`,
        expr.position,
      );
  }
}
