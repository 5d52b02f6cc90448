import { useState } from 'preact/hooks';
import { api, ApiError } from '../api';
import { Field, FormErrors } from '../components';
import { DestinationFields } from '../destination-form';
import { configForApi, DESTINATION_FIELDS } from '../destinations';
import { INTERVALS } from '../format';
import type { BatchExport } from '../types';

/**
 * Edits an export with PATCH: what the API refuses comes back as a 400 listing every field's problem, each shown
 * beside its field. Secrets start empty (the API never returns them) and are sent only when typed.
 */
export function EditExport(props: { batchExport: BatchExport; path: string; onSaved: () => void; onCancel: () => void }) {
  const { batchExport } = props;
  const original = batchExport.destination.config;
  const [name, setName] = useState(batchExport.name);
  const [interval, setExportInterval] = useState(batchExport.interval);
  const [config, setConfig] = useState<Record<string, unknown>>({ ...original, compression: original.compression ?? '' });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const type = batchExport.destination.type;

  const save = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setErrors({});
    try {
      await api('PATCH', props.path, {
        name,
        interval,
        destination: { type, config: configForApi(type, config, { onlyChanged: original }) },
      });
      props.onSaved();
    } catch (failure) {
      setErrors(failure instanceof ApiError ? failure.fieldErrors() : { '': (failure as Error).message });
    } finally {
      setBusy(false);
    }
  };

  const shown = ['name', 'interval', ...(DESTINATION_FIELDS[type] ?? []).map((f) => `destination.config.${f.name}`)];
  return (
    <form class="panel" onSubmit={save} aria-labelledby="edit-title" noValidate>
      <h2 id="edit-title">Edit export</h2>
      <FormErrors errors={errors} shown={shown} />
      <Field name="name" label="Name" errors={errors}>
        {(p) => <input {...p} value={name} onInput={(event) => setName(event.currentTarget.value)} />}
      </Field>
      <Field name="interval" label="Interval" errors={errors}>
        {(p) => (
          <select {...p} value={interval} onChange={(event) => setExportInterval(event.currentTarget.value)}>
            {[...new Set([interval, ...INTERVALS])].map((value) => (
              <option key={value}>{value}</option>
            ))}
          </select>
        )}
      </Field>
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
