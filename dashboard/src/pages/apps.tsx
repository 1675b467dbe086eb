// The apps list: one row per app with its status, URL, release, dynos and last release time, from
// one `GET /v1/apps`, refetched on every app event. Empty, it tells a new user how to deploy.
import { useState } from 'preact/hooks';
import { Skeleton } from '../components/skeleton.js';
import { StatusDot } from '../components/status-dot.js';
import { Time } from '../components/time.js';
import { useResource } from '../resource.js';
import { appHref, Link } from '../router.js';
import { appStatus, dynosUp, STATUS_LABEL } from '../status.js';
import type { App } from '../types.js';
import { CreateApp, PushTo } from './create-app.js';

export function AppsPage() {
  const apps = useResource<App[]>('/v1/apps');
  const [created, setCreated] = useState<App | undefined>();
  const onCreated = async (app: App) => {
    setCreated(app);
    await apps.reload();
  };
  return (
    <main class="page">
      <div class="heading">
        <h1 tabIndex={-1}>Apps</h1>
        <CreateApp onCreated={onCreated} />
      </div>
      {created && <PushTo app={created} />}
      {apps.data ? <AppList apps={apps.data} /> : apps.error ? <p class="error">{apps.error.message}</p> : <Skeleton rows={3} kind="app" />}
    </main>
  );
}

function AppList({ apps }: { apps: App[] }) {
  if (!apps.length) return <FirstSteps />;
  return (
    <ul class="apps">
      {apps.map((app) => (
        <AppRow key={app.name} app={app} />
      ))}
    </ul>
  );
}

function AppRow({ app }: { app: App }) {
  const status = appStatus(app);
  return (
    <li data-app={app.name} data-status={status}>
      <StatusDot kind={status} label={STATUS_LABEL[status]} />
      <Link href={appHref(app.name)} class="app-name">
        {app.name}
      </Link>
      <a href={app.web_url} class="url" rel="noreferrer">
        {app.web_url.replace(/^https?:\/\//, '')}
      </a>
      <span class="release">{app.release ? `v${app.release.version}` : '—'}</span>
      <span class="dynos">{app.release ? dynosUp(app) : '—'}</span>
      <span class="when">{app.release ? <>Released <Time iso={app.release.created_at} /></> : <>Created <Time iso={app.created_at} /></>}</span>
    </li>
  );
}

/** The empty state: the three commands from the README that take a checkout to a running app. */
function FirstSteps() {
  return (
    <section class="empty" aria-labelledby="first-steps">
      <h2 id="first-steps">Deploy your first app</h2>
      <p>You have no apps yet. In your app's git checkout, with the paas CLI:</p>
      <ol>
        <li>
          <code>paas apps:create NAME</code> <span class="hint">creates the app and adds the git remote <code>paas</code></span>
        </li>
        <li>
          <code>git push paas main</code> <span class="hint">builds and releases it</span>
        </li>
        <li>
          <code>paas apps:info</code> <span class="hint">shows its URL (such as http://NAME.localhost:8080): open it</span>
        </li>
      </ol>
      <p>Or create it here with Create app, then push to the git remote it shows.</p>
    </section>
  );
}
