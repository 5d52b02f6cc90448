import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, forgetKey, storedKey, unauthorizedListeners } from './api';
import { BackfillsPage } from './pages/backfills';
import { ExportPage } from './pages/export';
import { ExportsList } from './pages/exports';
import { SignIn } from './pages/sign-in';
import { NewExportWizard } from './pages/wizard';
import type { Session } from './types';
import './styles.css';

/** The page the URL's fragment names: #/, #/exports/new, #/exports/<id>, #/exports/<id>/backfills. */
function useRoute(): string[] {
  const parse = () => location.hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  const [route, setRoute] = useState(parse);
  useEffect(() => {
    const onChange = () => setRoute(parse());
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

function App() {
  const [session, setSession] = useState<Session | null>(null);
  const [signedOutBecause, setSignedOutBecause] = useState<string | null>(null);
  const [projectId, setProjectId] = useState<number | null>(null);
  const route = useRoute();

  const signOut = (reason: string | null = null) => {
    forgetKey();
    setSession(null);
    setSignedOutBecause(reason);
  };

  useEffect(() => {
    const onUnauthorized = () => signOut('The API key is no longer valid: sign in again.');
    unauthorizedListeners.add(onUnauthorized);
    // A reload of a signed-in tab: the key is still in this tab's session storage.
    if (storedKey()) {
      api<Session>('GET', '/api/console/session')
        .then(setSession)
        .catch(() => signOut('Sign in again.'));
    }
    return () => void unauthorizedListeners.delete(onUnauthorized);
  }, []);

  useEffect(() => {
    if (session) setProjectId((current) => current ?? session.projects[0]?.id ?? null);
  }, [session]);

  if (!session) return <SignIn message={signedOutBecause} onSignedIn={setSession} />;

  const [section, id, sub] = route;
  let page;
  if (projectId === null) page = <p>This key reaches no project.</p>;
  else if (section === 'exports' && id === 'new') page = <NewExportWizard session={session} projectId={projectId} />;
  else if (section === 'exports' && id && sub === 'backfills')
    page = <BackfillsPage session={session} projectId={projectId} exportId={id} />;
  else if (section === 'exports' && id) page = <ExportPage session={session} projectId={projectId} exportId={id} />;
  else page = <ExportsList session={session} projectId={projectId} />;

  return (
    <>
      <a class="skip" href="#main" onClick={(event) => (event.preventDefault(), document.getElementById('main')?.focus())}>
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="#/">
          Batch exports
        </a>
        <nav aria-label="Main">
          <a href="#/">Exports</a>
          {session.can_write && <a href="#/exports/new">New export</a>}
        </nav>
        {session.projects.length > 1 && (
          <label class="project">
            Project{' '}
            <select value={String(projectId)} onChange={(event) => setProjectId(Number(event.currentTarget.value))}>
              {session.projects.map((project) => (
                <option key={project.id} value={project.id}>
                  {project.name}
                </option>
              ))}
            </select>
          </label>
        )}
        <span class="who">
          {session.user_email}
          {!session.can_write && <span class="badge status-cancelled">read-only</span>}
        </span>
        <button type="button" onClick={() => signOut()}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {page}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
