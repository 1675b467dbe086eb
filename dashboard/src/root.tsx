// The page frame: the session (sign-in view while there is none), the one event stream, the header,
// the routed page, and the action report.
import { useEffect, useState } from 'preact/hooks';
import { ActionReport, ActionsProvider, useActions } from './action.js';
import { currentSession, onUnauthorized, signOut } from './api.js';
import { Skeleton } from './components/skeleton.js';
import { startEvents } from './events.js';
import { AppPage } from './pages/app.js';
import { AppsPage } from './pages/apps.js';
import { SignIn } from './pages/signin.js';
import { Link, type Route, useRoute } from './router.js';

type SessionState = { kind: 'checking' } | { kind: 'out'; error?: string } | { kind: 'in' };

export function Root() {
  const [session, setSession] = useState<SessionState>({ kind: 'checking' });
  useEffect(() => {
    onUnauthorized(() => setSession({ kind: 'out', error: 'Your session ended. Sign in again.' }));
    currentSession().then(
      (s) => setSession(s ? { kind: 'in' } : { kind: 'out' }),
      (err: Error) => setSession({ kind: 'out', error: err.message }),
    );
  }, []);
  useEffect(() => {
    if (session.kind !== 'in') return undefined;
    const events = startEvents();
    return () => events.close();
  }, [session.kind]);

  if (session.kind === 'checking') {
    // The signed-in frame's shape, so the page does not jump when the session is there (the usual case).
    return (
      <>
        <header class="top">
          <div class="bar">
            <span class="brand">paas</span>
          </div>
        </header>
        <main class="page">
          <Skeleton rows={4} kind="app" />
        </main>
      </>
    );
  }
  if (session.kind === 'out') return <SignIn notice={session.error} onSignedIn={() => setSession({ kind: 'in' })} />;
  return (
    <ActionsProvider>
      <Header onSignedOut={() => setSession({ kind: 'out' })} />
      <Page />
      <ActionReport />
    </ActionsProvider>
  );
}

function Header({ onSignedOut }: { onSignedOut: () => void }) {
  const { run, busy } = useActions();
  const route = useRoute();
  const out = async () => {
    if (await run('Signing out…', async () => (await signOut(), 'Signed out'))) onSignedOut();
  };
  return (
    <header class="top">
      <div class="bar">
        <span class="brand">paas</span>
        <nav aria-label="Main">
          <Link href="/" aria-current={route.page === 'apps' ? 'page' : undefined}>
            Apps
          </Link>
        </nav>
        <button type="button" class="quiet" onClick={() => void out()} disabled={busy}>
          Sign out
        </button>
      </div>
    </header>
  );
}

const routeKey = (r: Route) => (r.page === 'app' ? `app:${r.app}` : r.page);

function Page() {
  const route = useRoute();
  const key = routeKey(route);
  // A new page: focus its heading, so a screen reader starts there and Tab goes on from it.
  useEffect(() => {
    document.querySelector<HTMLElement>('main h1')?.focus({ preventScroll: true });
  }, [key]);
  useEffect(() => {
    document.title = route.page === 'app' ? `${route.app} · paas` : route.page === 'apps' ? 'Apps · paas' : 'Not found · paas';
  }, [route]);
  if (route.page === 'apps') return <AppsPage />;
  if (route.page === 'app') return <AppPage key={route.app} app={route.app} tab={route.tab} />;
  return (
    <main class="page">
      <h1 tabIndex={-1}>Not found</h1>
      <p>
        There is no such page. <Link href="/">See your apps</Link>.
      </p>
    </main>
  );
}
