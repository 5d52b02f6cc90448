import { Field } from './components';
import { DESTINATION_FIELDS, optionsOf } from './destinations';

interface Props {
  type: string;
  config: Record<string, unknown>;
  onChange: (config: Record<string, unknown>) => void;
  errors: Record<string, string>;
  /** Only the format fields (true), only the others (false), or all (undefined). */
  format?: boolean;
  /** Editing a saved export: secrets are stored, so an empty input keeps them. */
  editing?: boolean;
}

/** The inputs of a destination's config; each shows its API error (`destination.config.<name>`) beside it. */
export function DestinationFields({ type, config, onChange, errors, format, editing }: Props) {
  const fields = (DESTINATION_FIELDS[type] ?? []).filter((field) => format === undefined || !!field.format === format);
  const set = (name: string, value: unknown) => onChange({ ...config, [name]: value });
  return (
    <>
      {fields.map((field) => (
        <Field
          key={field.name}
          name={`destination.config.${field.name}`}
          label={field.label}
          errors={errors}
          hint={(field.kind === 'secret' || field.writeOnly) && editing ? 'Stored and never shown: leave empty to keep it.' : field.hint}
        >
          {(props) =>
            field.kind === 'select' ? (
              <select
                {...props}
                value={String(config[field.name] ?? '')}
                onChange={(event) => set(field.name, event.currentTarget.value)}
              >
                {optionsOf(field, config).map((option) => (
                  <option key={option} value={option}>
                    {option || 'none'}
                  </option>
                ))}
              </select>
            ) : field.kind === 'checkbox' ? (
              <input
                {...props}
                type="checkbox"
                checked={Boolean(config[field.name])}
                onChange={(event) => set(field.name, event.currentTarget.checked)}
              />
            ) : field.kind === 'secret' ? (
              <input
                {...props}
                type="password"
                autocomplete="new-password"
                value={String(config[field.name] ?? '')}
                onInput={(event) => set(field.name, event.currentTarget.value)}
              />
            ) : field.kind === 'number' ? (
              <input
                {...props}
                type="number"
                value={String(config[field.name] ?? '')}
                onInput={(event) => set(field.name, event.currentTarget.value)}
              />
            ) : (
              <input
                {...props}
                type="text"
                autocomplete="off"
                value={String(config[field.name] ?? '')}
                onInput={(event) => set(field.name, event.currentTarget.value)}
              />
            )
          }
        </Field>
      ))}
    </>
  );
}
