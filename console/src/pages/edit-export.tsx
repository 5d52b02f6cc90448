import { useState } from 'preact/hooks';
import { api, ApiError } from '../api';
import { Field, FormErrors } from '../components';
import { DestinationFields } from '../destination-form';
import { configForApi, DESTINATION_FIELDS, formConfig } from '../destinations';
import { INTERVALS, MODELS } from '../format';
import type { BatchExport } from '../types';

/** The export's own fields the form edits as text, each sent as the API names it. */
interface ExportFields {
  name: string;
  model: string;
  interval: string;
  start_at: string;
  end_at: string;
  timezone: string;
  offset_day: string;
  offset_hour: string;
  hogql_query: string;
  filters: string;
}

const text = (value: unknown): string => (value === null || value === undefined ? '' : String(value));

function initialFields(batchExport: BatchExport): ExportFields {
  return {
    name: batchExport.name,
    model: batchExport.model,
    interval: batchExport.interval,
    start_at: text(batchExport.start_at),
    end_at: text(batchExport.end_at),
    timezone: batchExport.timezone,
    offset_day: text(batchExport.offset_day),
    offset_hour: text(batchExport.offset_hour),
    hogql_query: text(batchExport.hogql_query),
    filters: batchExport.filters?.length ? JSON.stringify(batchExport.filters, null, 2) : '',
  };
}

/**
 * The PATCH body of the export's own fields: an empty input clears an optional field (null). Filters are JSON typed
 * by the user; text that is not JSON is refused here, beside the field, since the API would only see a string.
 */
function exportBody(fields: ExportFields): { body: Record<string, unknown>; errors: Record<string, string> } {
  const optional = (value: string) => value.trim() || null;
  const integer = (value: string) => (value.trim() === '' ? null : Number(value));
  let filters: unknown = null;
  const errors: Record<string, string> = {};
  if (fields.filters.trim()) {
    try {
      filters = JSON.parse(fields.filters);
    } catch {
      errors.filters = 'must be JSON: a list of {"key", "operator", "value", "type"} objects';
    }
  }
  const body = {
    name: fields.name,
    model: fields.model,
    interval: fields.interval,
    start_at: optional(fields.start_at),
    end_at: optional(fields.end_at),
    timezone: fields.timezone.trim(),
    offset_day: integer(fields.offset_day),
    offset_hour: integer(fields.offset_hour),
    hogql_query: optional(fields.hogql_query),
    filters,
  };
  return { body, errors };
}

/** A filter's error (`filters.0.value`) shown beside the one filters input, saying which filter it is about. */
function foldFilterErrors(errors: Record<string, string>): Record<string, string> {
  const folded: Record<string, string> = {};
  for (const [attr, detail] of Object.entries(errors)) {
    const inside = /^filters\.(\d+)(?:\.(.+))?$/.exec(attr);
    if (!inside) folded[attr] ??= detail;
    else folded.filters ??= `filter ${Number(inside[1]) + 1}${inside[2] ? ` (${inside[2]})` : ''}: ${detail}`;
  }
  return folded;
}

/**
 * Edits an export with PATCH: every field the API lets a client change (pausing has its own buttons; the destination
 * type cannot change).
 * What the API refuses comes back as a 400 listing every field's problem, each shown beside its field. Secrets start
 * empty (the API never returns them) and are sent only when typed.
 */
export function EditExport(props: { batchExport: BatchExport; path: string; onSaved: () => void; onCancel: () => void }) {
  const { batchExport } = props;
  const type = batchExport.destination.type;
  const original = batchExport.destination.config;
  const [fields, setFields] = useState<ExportFields>(() => initialFields(batchExport));
  const [config, setConfig] = useState<Record<string, unknown>>(() => formConfig(type, original));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const set = (name: keyof ExportFields) => (event: { currentTarget: { value: string } }) =>
    setFields((previous) => ({ ...previous, [name]: event.currentTarget.value }));

  const save = async (event: Event) => {
    event.preventDefault();
    const { body, errors: local } = exportBody(fields);
    setErrors(local);
    if (Object.keys(local).length) return;
    setBusy(true);
    try {
      await api('PATCH', props.path, {
        ...body,
        destination: { type, config: configForApi(type, config, { onlyChanged: original }) },
      });
      props.onSaved();
    } catch (failure) {
      setErrors(failure instanceof ApiError ? foldFilterErrors(failure.fieldErrors()) : { '': (failure as Error).message });
    } finally {
      setBusy(false);
    }
  };

  const own = Object.keys(fields);
  const shown = [...own, ...(DESTINATION_FIELDS[type] ?? []).map((f) => `destination.config.${f.name}`)];
  const input = (name: keyof ExportFields, label: string, hint?: string) => (
    <Field name={name} label={label} errors={errors} hint={hint}>
      {(p) => <input {...p} type="text" autocomplete="off" value={fields[name]} onInput={set(name)} />}
    </Field>
  );
  // The stored value stays an option even when the console's list does not name it.
  const select = (name: keyof ExportFields, label: string, options: readonly string[], hint?: string) => (
    <Field name={name} label={label} errors={errors} hint={hint}>
      {(p) => (
        <select {...p} value={fields[name]} onChange={set(name)}>
          {[...new Set([fields[name], ...options])].map((value) => (
            <option key={value}>{value}</option>
          ))}
        </select>
      )}
    </Field>
  );
  const textarea = (name: keyof ExportFields, label: string, hint: string) => (
    <Field name={name} label={label} errors={errors} hint={hint}>
      {(p) => <textarea {...p} rows={4} spellcheck={false} value={fields[name]} onInput={set(name)} />}
    </Field>
  );
  return (
    <form class="panel" onSubmit={save} aria-labelledby="edit-title" noValidate>
      <h2 id="edit-title">Edit export</h2>
      <FormErrors errors={errors} shown={shown} />
      {input('name', 'Name')}
      {select('model', 'Model', MODELS, 'What each row is; a HogQL query needs the events model')}
      {select('interval', 'Interval', INTERVALS)}
      <fieldset>
        <legend>Schedule</legend>
        {input('start_at', 'Start at', 'ISO 8601 with offset, e.g. 2026-01-01T00:00:00Z; empty for none')}
        {input('end_at', 'End at', 'ISO 8601 with offset; empty to run on')}
        {input('timezone', 'Timezone', 'IANA name, e.g. UTC or Europe/Berlin: where day and week intervals start')}
        {input('offset_hour', 'Offset hour', '0 to 23: the hour day and week intervals start at; empty for midnight')}
        {input('offset_day', 'Offset day', '0 (Sunday) to 6: the day week intervals start on; empty for Sunday')}
      </fieldset>
      <fieldset>
        <legend>What is exported</legend>
        {textarea('hogql_query', 'HogQL query', "Selects the columns from events (events model only); empty for the model's columns")}
        {textarea(
          'filters',
          'Property filters',
          'JSON list, e.g. [{"key": "$browser", "operator": "exact", "value": "Chrome", "type": "event"}]; empty for none',
        )}
      </fieldset>
      <fieldset>
        <legend>{type} destination</legend>
        <DestinationFields type={type} config={config} onChange={setConfig} errors={errors} editing />
      </fieldset>
      <div class="actions">
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
        <button type="submit" class="primary" disabled={busy}>
          Save changes
        </button>
      </div>
    </form>
  );
}
