// Overview: the app's URL and current release, its formation with ± per process type and one Scale,
// and its dynos with their state and restarts.
import { useActions } from '../action.js';
import { api, appPath } from '../api.js';
import { Skeleton } from '../components/skeleton.js';
import { StatusDot } from '../components/status-dot.js';
import { Time } from '../components/time.js';
import type { TabProps } from './tab.js';
import { useResource } from '../resource.js';
import type { Dyno, FormationEntry } from '../types.js';
import { Formation } from './formation.js';

export function OverviewTab({ app, info }: TabProps) {
  const formation = useResource<FormationEntry[]>(appPath(app, '/formation'), app);
  const dynos = useResource<Dyno[]>(appPath(app, '/dynos'), app);
  const a = info.data;
  const reload = () => Promise.all([formation.reload(), dynos.reload(), info.reload()]).then(() => undefined);
  return (
    <>
      {a ? (
        <dl class="facts">
          <div>
            <dt>URL</dt>
            <dd>
              <a href={a.web_url} rel="noreferrer">
                {a.web_url}
              </a>
            </dd>
          </div>
          <div>
            <dt>Current release</dt>
            <dd>
              {a.release ? (
                <>
                  <strong>v{a.release.version}</strong> {a.release.description} · <Time iso={a.release.created_at} />
                </>
              ) : (
                'None yet: push code to release it'
              )}
            </dd>
          </div>
          <div>
            <dt>Git remote</dt>
            <dd>
              <code>{a.git_url}</code>
            </dd>
          </div>
        </dl>
      ) : (
        <Skeleton rows={3} kind="fact" />
      )}
      <section aria-labelledby="formation-heading">
        <h2 id="formation-heading">Formation</h2>
        {formation.data ? <Formation app={app} entries={formation.data} onScaled={reload} /> : <Skeleton rows={1} />}
      </section>
      <section aria-labelledby="dynos-heading">
        <h2 id="dynos-heading">Dynos</h2>
        {dynos.data ? <Dynos app={app} dynos={dynos.data} onRestarted={reload} /> : <Skeleton rows={1} />}
      </section>
    </>
  );
}

function Dynos({ app, dynos, onRestarted }: { app: string; dynos: Dyno[]; onRestarted: () => Promise<void> }) {
  const { run, busy } = useActions();
  const restart = () =>
    run('Restarting all dynos…', async () => {
      await api('DELETE', appPath(app, '/dynos'));
      await onRestarted();
      return 'Restarted all dynos';
    });
  if (!dynos.length) return <p class="hint">No dynos are running.</p>;
  return (
    <>
      <ul class="rows dynos">
        {dynos.map((d) => (
          <li key={d.name} data-dyno={d.name} data-state={d.state}>
            <span class="name">{d.name}</span>
            <StatusDot kind={d.state} />
            <span>v{d.release}</span>
            <span>
              {d.restarts} {d.restarts === 1 ? 'restart' : 'restarts'}
            </span>
            <span>
              started <Time iso={d.started_at} />
            </span>
            <code class="command">{d.command}</code>
          </li>
        ))}
      </ul>
      <button type="button" onClick={() => void restart()} disabled={busy}>
        Restart all dynos
      </button>
    </>
  );
}
