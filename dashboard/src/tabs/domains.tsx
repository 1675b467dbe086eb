// Domains: the app's default hostname and its custom ones; add and remove custom ones (no release:
// the routers take the change at once).
import { useState } from 'preact/hooks';
import { useActions } from '../action.js';
import { api, appPath } from '../api.js';
import { Skeleton } from '../components/skeleton.js';
import { Time } from '../components/time.js';
import type { TabProps } from './tab.js';
import { useResource } from '../resource.js';
import type { Domain } from '../types.js';

export function DomainsTab({ app }: TabProps) {
  const domains = useResource<Domain[]>(appPath(app, '/domains'), app);
  const { run, busy } = useActions();
  const [hostname, setHostname] = useState('');
  const add = async (e: SubmitEvent) => {
    e.preventDefault();
    const name = hostname.trim();
    const ok = await run(`Adding ${name}…`, async () => {
      await api('POST', appPath(app, '/domains'), { hostname: name });
      await domains.reload();
      return `Added ${name}: point its DNS at this server`;
    });
    if (ok) setHostname('');
  };
  const remove = (name: string) =>
    run(`Removing ${name}…`, async () => {
      await api('DELETE', appPath(app, `/domains/${encodeURIComponent(name)}`));
      await domains.reload();
      return `Removed ${name}`;
    });
  return (
    <section aria-labelledby="domains-heading">
      <h2 id="domains-heading">Domains</h2>
      {!domains.data ? (
        domains.error ? <p class="error">{domains.error.message}</p> : <Skeleton rows={2} />
      ) : (
        <ul class="rows domains">
          {domains.data.map((d) => (
            <li key={d.hostname} data-domain={d.hostname}>
              <span class="name">{d.hostname}</span>
              <span class="meta">
                {d.kind === 'default' ? 'default' : 'custom'} · added <Time iso={d.created_at} />
              </span>
              {d.kind === 'custom' && (
                <button type="button" aria-label={`Remove ${d.hostname}`} onClick={() => void remove(d.hostname)} disabled={busy}>
                  Remove
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      <form class="add" onSubmit={(e) => void add(e)}>
        <div class="field grow">
          <label for="domain-hostname">Domain</label>
          <input id="domain-hostname" value={hostname} onInput={(e) => setHostname(e.currentTarget.value)} placeholder="www.example.com" required autoComplete="off" spellcheck={false} />
        </div>
        <button type="submit" class="primary" disabled={busy}>
          Add domain
        </button>
      </form>
      <p class="hint">HTTPS certificates for custom domains are managed with <code>paas certs</code>.</p>
    </section>
  );
}
