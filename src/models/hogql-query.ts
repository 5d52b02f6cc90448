import { compileHogQL } from './hogql';
import { eventsQuery } from './events';
import type { IntervalQuery, ModelQuery } from './types';

/**
 * The events of the interval (filtered and deduplicated as for the events model) shaped by a hogql_query: its
 * aliases are the fields. The selected expressions are computed inside the row source, so the source holds every
 * parameter it references and can be run on its own; the order columns get names no alias can take.
 */
export function hogqlModelQuery(hogql: string, query: IntervalQuery): ModelQuery {
  const events = eventsQuery(query);
  const values = [...events.source.values];
  const compiled = compileHogQL(hogql, values);
  const selected = compiled.fields.map((field) => `${field.expression} AS "${field.name}"`).join(', ');
  return {
    model: 'events',
    fields: compiled.fields.map((field) => ({ ...field, expression: `r."${field.name}"` })),
    source: {
      text: `SELECT ${selected}, r.inserted_at AS "#inserted_at", r.uuid AS "#uuid" FROM (${events.source.text}) AS r${
        compiled.where ? ` WHERE ${compiled.where}` : ''
      }`,
      values,
      prepare: events.source.prepare,
    },
    orderBy: ['r."#inserted_at"', 'r."#uuid"'],
  };
}
