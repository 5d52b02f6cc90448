import { z } from 'zod';
import { ConfigError } from '../config';

/**
 * What only `npm run dev` reads, beside the variables of src/config.ts. Parsed once at its start; a bad value stops
 * it naming the variable.
 */
const DevEnv = z.object({
  /** The Temporal Web UI of the dev server `npm run dev` starts (when TEMPORAL_ADDRESS does not answer). */
  TEMPORAL_UI_PORT: z.coerce.number().int().min(1).max(65535).default(8233),
  /** The local S3 (moto) of the demo. */
  DEV_S3_PORT: z.coerce.number().int().min(1).max(65535).default(4566),
  /** false: no demo data, no local S3, no demo export (for your own data). */
  DEV_DEMO: z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default('true')
    .transform((value) => value === 'true' || value === '1' || value === 'yes'),
});

export interface DevSettings {
  temporalUiPort: number;
  s3Port: number;
  demo: boolean;
}

/** The settings from the environment; `--no-demo` among the arguments turns the demo off too. */
export function loadDevSettings(env: NodeJS.ProcessEnv, args: readonly string[]): DevSettings {
  const unknown = args.filter((arg) => arg !== '--no-demo');
  if (unknown.length) throw new ConfigError(`Unknown argument ${unknown[0]}: npm run dev takes only --no-demo`);
  const entries = Object.entries(env).filter(([, value]) => value !== '');
  const parsed = DevEnv.safeParse(Object.fromEntries(entries));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`);
    throw new ConfigError(`Invalid environment: ${problems.join('; ')}`);
  }
  return {
    temporalUiPort: parsed.data.TEMPORAL_UI_PORT,
    s3Port: parsed.data.DEV_S3_PORT,
    demo: parsed.data.DEV_DEMO && !args.includes('--no-demo'),
  };
}
