import { useState } from 'preact/hooks';
import { api, ApiError, forgetKey, storeKey } from '../api';
import type { Session } from '../types';

/** Sign-in with a personal API key: kept in this tab's sessionStorage only after the API accepted it. */
export function SignIn({ message, onSignedIn }: { message: string | null; onSignedIn: (session: Session) => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const session = await api<Session>('GET', '/api/console/session', undefined, key.trim());
      storeKey(key.trim());
      setKey('');
      onSignedIn(session);
    } catch (failure) {
      forgetKey();
      setError(
        failure instanceof ApiError && failure.status === 401
          ? 'This API key is not valid.'
          : failure instanceof ApiError && failure.status === 403
            ? 'This API key cannot read batch exports (it needs the batch_export:read scope).'
            : 'The API cannot be reached.',
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="sign-in" id="main">
      <h1>Batch exports</h1>
      <form onSubmit={submit} aria-describedby="sign-in-help">
        <p id="sign-in-help">
          Sign in with a personal API key. It stays in this browser tab only and is sent to the API in a header, never
          in a URL.
        </p>
        {message && <p class="notice">{message}</p>}
        <div class="field">
          <label for="api-key">Personal API key</label>
          <input
            id="api-key"
            type="password"
            autocomplete="off"
            required
            value={key}
            aria-invalid={Boolean(error)}
            aria-describedby={error ? 'api-key-error' : undefined}
            onInput={(event) => setKey(event.currentTarget.value)}
          />
          {error && (
            <p class="field-error" id="api-key-error" role="alert">
              {error}
            </p>
          )}
        </div>
        <button type="submit" class="primary" disabled={busy || !key.trim()}>
          Sign in
        </button>
      </form>
    </main>
  );
}
