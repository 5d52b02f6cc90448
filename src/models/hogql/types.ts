import type { FieldType } from '../types';

/** The type of an expression: a field type, or NULL (the literal), which fits any. */
export type ExprType = FieldType | 'null';

export interface Compiled {
  sql: string;
  type: ExprType;
}

export const NUMERIC = new Set<ExprType>(['integer', 'float']);

/** A type as error messages name it. */
export function describe(type: ExprType): string {
  const names: Record<ExprType, string> = {
    string: 'text',
    integer: 'a whole number',
    float: 'a number',
    boolean: 'true/false',
    timestamp: 'a timestamp',
    json: 'JSON',
    uuid: 'a uuid',
    null: 'NULL',
  };
  return names[type];
}
