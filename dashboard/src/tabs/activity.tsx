// Activity: releases and builds, newest first, each with its output behind a disclosure; older
// succeeded releases with code can be rolled back to (after a confirm).
import { useState } from 'preact/hooks';
import { useActions } from '../action.js';
import { api, appPath, output, waitForRelease } from '../api.js';
import { Dialog } from '../components/dialog.js';
import { Skeleton } from '../components/skeleton.js';
import { StatusDot, stateLabel } from '../components/status-dot.js';
import { Time } from '../components/time.js';
import type { TabProps } from './tab.js';
import { useResource } from '../resource.js';
import type { Build, Release } from '../types.js';

const LIMIT = 50;

export function ActivityTab({ app }: TabProps) {
  const releases = useResource<Release[]>(appPath(app, `/releases?limit=${LIMIT}`), app);
  const builds = useResource<Build[]>(appPath(app, `/builds?limit=${LIMIT}`), app);
  const [target, setTarget] = useState<Release | undefined>();
  const { run, busy } = useActions();
  const current = releases.data?.find((r) => r.current)?.version ?? 0;
  const rollback = (to: Release) => {
    setTarget(undefined);
    return run(`Rolling back to v${to.version}…`, async () => {
      const made = await api<Release>('POST', appPath(app, '/releases'), { rollback: `v${to.version}` });
      const live = await waitForRelease(app, made);
      await releases.reload();
      return `Released v${live.version}`;
    });
  };
  return (
    <>
      <section aria-labelledby="releases-heading">
        <h2 id="releases-heading">Releases</h2>
        {!releases.data ? (
          releases.error ? <p class="error">{releases.error.message}</p> : <Skeleton rows={3} />
        ) : !releases.data.length ? (
          <p class="hint">No releases yet: push code, or set a config var.</p>
        ) : (
          <ul class="rows history">
            {releases.data.map((r) => (
              <li key={r.version} data-release={`v${r.version}`}>
                <strong class="name">v{r.version}</strong>
                <span class="description">{r.description}</span>
                <StatusDot kind={r.status} label={r.current ? `${stateLabel(r.status)}, current` : undefined} />
                <span class="meta">
                  by {r.created_by} <Time iso={r.created_at} />
                </span>
                {r.version < current && r.status === 'succeeded' && r.commit && (
                  <button type="button" onClick={() => setTarget(r)} disabled={busy}>
                    Roll back to v{r.version}
                  </button>
                )}
                <Output path={appPath(app, `/releases/${r.version}/output`)} />
              </li>
            ))}
          </ul>
        )}
      </section>
      <section aria-labelledby="builds-heading">
        <h2 id="builds-heading">Builds</h2>
        {!builds.data ? (
          builds.error ? <p class="error">{builds.error.message}</p> : <Skeleton rows={2} />
        ) : !builds.data.length ? (
          <p class="hint">No builds yet: each git push makes one.</p>
        ) : (
          <ul class="rows history">
            {builds.data.map((b) => (
              <li key={b.id} data-build={b.id}>
                <code class="name">{b.commit.slice(0, 7)}</code>
                <span class="description">{b.buildpack ?? 'buildpack not detected yet'}</span>
                <StatusDot kind={b.status} />
                <span class="meta">
                  <Time iso={b.created_at} />
                  {b.duration !== null && ` · ${b.duration} s`}
                </span>
                <Output path={appPath(app, `/builds/${encodeURIComponent(b.id)}/output`)} />
              </li>
            ))}
          </ul>
        )}
      </section>
      <Dialog open={!!target} title={`Roll back to v${target?.version ?? ''}?`} onClose={() => setTarget(undefined)}>
        <p>A new release is made with v{target?.version}'s code and config vars, and the dynos restart on it. Nothing is rebuilt.</p>
        <div class="buttons">
          <button type="button" onClick={() => setTarget(undefined)}>
            Cancel
          </button>
          <button type="button" class="primary" onClick={() => target && void rollback(target)}>
            Roll back
          </button>
        </div>
      </Dialog>
    </>
  );
}

/** A build's or release's output, fetched the first time it is opened. */
function Output({ path }: { path: string }) {
  const [text, setText] = useState<string | undefined>();
  const load = (e: Event) => {
    if (!(e.currentTarget as HTMLDetailsElement).open || text !== undefined) return;
    setText('Loading…');
    output(path).then(
      (out) => setText(out || '(no output)'),
      (err: Error) => setText(err.message),
    );
  };
  return (
    <details class="output" onToggle={load}>
      <summary>Output</summary>
      <pre tabIndex={0}>{text}</pre>
    </details>
  );
}
