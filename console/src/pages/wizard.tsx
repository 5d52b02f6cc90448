import { useState } from 'preact/hooks';
import { api, ApiError, projectPath } from '../api';
import { Field, FormErrors } from '../components';
import { DestinationFields } from '../destination-form';
import { configForApi, DEFAULT_CONFIG, DESTINATION_FIELDS } from '../destinations';
import { INTERVALS, MODELS } from '../format';
import type { BatchExport, Session, TestStepResult } from '../types';

type StepState = { name: string; description: string; status: 'Waiting' | 'Running' | 'Passed' | 'Failed' | 'Skipped'; message: string | null };

/**
 * A new export in four steps: model, destination, format, then "Test connection" runs the destination's test steps
 * one by one (each result shown as it comes), then save. Every field shows the API's error for it.
 */
export function NewExportWizard({ projectId }: { session: Session; projectId: number }) {
  const [name, setName] = useState('');
  const [model, setModel] = useState('events');
  const [interval, setExportInterval] = useState('hour');
  const [type, setType] = useState('S3');
  const [config, setConfig] = useState<Record<string, unknown>>({ ...DEFAULT_CONFIG.S3 });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [steps, setSteps] = useState<StepState[] | null>(null);
  const [testing, setTesting] = useState(false);
  const [saving, setSaving] = useState(false);
  const destination = () => ({ type, config: configForApi(type, config) });

  const chooseType = (next: string) => {
    setType(next);
    setConfig({ ...DEFAULT_CONFIG[next] });
    setSteps(null);
  };
  const changeConfig = (next: Record<string, unknown>) => {
    setConfig(next);
    setSteps(null);
  };

  const testConnection = async () => {
    setTesting(true);
    setErrors({});
    try {
      const listed = await api<{ steps: Array<{ name: string; description: string }> }>(
        'GET',
        projectPath(projectId, `/test?destination=${encodeURIComponent(type)}`),
      );
      let current: StepState[] = listed.steps.map((step) => ({ ...step, status: 'Waiting', message: null }));
      setSteps(current);
      let failed = false;
      for (let index = 0; index < current.length; index++) {
        const update = (patch: Partial<StepState>) => {
          current = current.map((step, i) => (i === index ? { ...step, ...patch } : step));
          setSteps(current);
        };
        if (failed) {
          update({ status: 'Skipped', message: 'Skipped: an earlier step failed.' });
          continue;
        }
        update({ status: 'Running' });
        const result = await api<TestStepResult>('POST', projectPath(projectId, '/run_test_step_new'), {
          step: index,
          destination: destination(),
        });
        update({ status: result.result.status, message: result.result.message });
        failed = result.result.status === 'Failed';
      }
    } catch (failure) {
      setErrors(failure instanceof ApiError ? failure.fieldErrors() : { '': (failure as Error).message });
      setSteps(null);
    } finally {
      setTesting(false);
    }
  };

  const save = async (event: Event) => {
    event.preventDefault();
    setSaving(true);
    setErrors({});
    try {
      const created = await api<BatchExport>('POST', projectPath(projectId, ''), {
        name,
        model,
        interval,
        destination: destination(),
      });
      location.hash = `#/exports/${created.id}`;
    } catch (failure) {
      setErrors(failure instanceof ApiError ? failure.fieldErrors() : { '': (failure as Error).message });
    } finally {
      setSaving(false);
    }
  };

  const shown = ['name', 'model', 'interval', ...(DESTINATION_FIELDS[type] ?? []).map((f) => `destination.config.${f.name}`)];
  const passed = steps?.every((step) => step.status === 'Passed') ?? false;
  return (
    <form class="wizard" onSubmit={save} aria-labelledby="wizard-title" noValidate>
      <h1 id="wizard-title">New export</h1>
      <FormErrors errors={errors} shown={shown} />
      <fieldset>
        <legend>1. Model</legend>
        <Field name="name" label="Name" errors={errors}>
          {(p) => <input {...p} value={name} onInput={(event) => setName(event.currentTarget.value)} />}
        </Field>
        <Field name="model" label="Model" errors={errors}>
          {(p) => (
            <select {...p} value={model} onChange={(event) => setModel(event.currentTarget.value)}>
              {MODELS.map((value) => (
                <option key={value}>{value}</option>
              ))}
            </select>
          )}
        </Field>
        <Field name="interval" label="Interval" errors={errors}>
          {(p) => (
            <select {...p} value={interval} onChange={(event) => setExportInterval(event.currentTarget.value)}>
              {INTERVALS.map((value) => (
                <option key={value}>{value}</option>
              ))}
            </select>
          )}
        </Field>
      </fieldset>
      <fieldset>
        <legend>2. Destination</legend>
        <div class="choices" role="radiogroup" aria-label="Destination type">
          {Object.keys(DESTINATION_FIELDS).map((option) => (
            <label key={option}>
              <input
                type="radio"
                name="destination-type"
                value={option}
                checked={type === option}
                onChange={() => chooseType(option)}
              />{' '}
              {option}
            </label>
          ))}
        </div>
        <DestinationFields type={type} config={config} onChange={changeConfig} errors={errors} format={false} />
      </fieldset>
      <fieldset>
        <legend>3. Format</legend>
        {DESTINATION_FIELDS[type]?.some((field) => field.format) ? (
          <DestinationFields type={type} config={config} onChange={changeConfig} errors={errors} format />
        ) : (
          <p>Rows are inserted into the table: no file format to choose.</p>
        )}
      </fieldset>
      <fieldset>
        <legend>4. Test connection</legend>
        <button type="button" onClick={() => void testConnection()} disabled={testing}>
          Test connection
        </button>
        {steps && (
          <ol class="test-steps" aria-live="polite" aria-label="Test steps">
            {steps.map((step) => (
              <li key={step.name} class={`test-step step-${step.status.toLowerCase()}`} data-status={step.status}>
                <strong>{step.name}</strong>: <span class="step-status">{step.status}</span>
                {step.message && <p class="step-message">{step.message}</p>}
              </li>
            ))}
          </ol>
        )}
      </fieldset>
      <fieldset>
        <legend>5. Save</legend>
        {!passed && <p class="hint">Test the connection first: a failing step will fail every run.</p>}
        <button type="submit" class="primary" disabled={saving}>
          Save export
        </button>
      </fieldset>
    </form>
  );
}
