import type { ErrorBody } from './types';

/**
 * The API client: the personal API key lives in sessionStorage (gone when the tab closes, never in a URL or a
 * cookie) and goes in the Authorization header of every request, exactly as any other API client sends it.
 */

const KEY_ITEM = 'batch-exports-console.api-key';

export const storedKey = (): string | null => sessionStorage.getItem(KEY_ITEM);
export const storeKey = (key: string): void => sessionStorage.setItem(KEY_ITEM, key);
export const forgetKey = (): void => sessionStorage.removeItem(KEY_ITEM);

/** What the API answered when it did not succeed; `body` carries the field errors of a 400. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorBody | null,
  ) {
    super(body?.detail ?? `The API answered ${status}`);
  }

  /** Every field error, by the field's dotted path (`destination.config.bucket_name`); null for the form itself. */
  fieldErrors(): Record<string, string> {
    const errors: Record<string, string> = {};
    const list = this.body?.errors ?? (this.body ? [this.body] : []);
    for (const { attr, detail } of list) errors[attr ?? ''] ??= detail;
    return errors;
  }
}

/** Listeners told when the key stopped working (revoked while signed in): the app goes back to sign-in. */
export const unauthorizedListeners = new Set<() => void>();

export async function api<T>(method: string, path: string, body?: unknown, key = storedKey()): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (key) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  const parsed = text ? (JSON.parse(text) as unknown) : null;
  if (!response.ok) {
    if (response.status === 401) unauthorizedListeners.forEach((listener) => listener());
    throw new ApiError(response.status, parsed as ErrorBody | null);
  }
  return parsed as T;
}

/** Path of a project-scoped route. */
export const projectPath = (projectId: number, rest: string): string => `/api/projects/${projectId}/batch_exports${rest}`;
