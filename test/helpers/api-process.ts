import { spawnNode, type SpawnedProcess } from './spawned';

export interface ApiProcess extends SpawnedProcess {
  /** Resolves once the API says it listens (or the process ended); returns the output so far. */
  listening(): Promise<string>;
}

/** `npm run api` (scripts/api.ts) as a process of its own, with exactly `env` (and PATH). */
export function spawnApiProcess(env: Record<string, string>): ApiProcess {
  const api = spawnNode(['--import', 'tsx', 'scripts/api.ts'], env);
  return { ...api, listening: () => api.waitFor('API listening') };
}
