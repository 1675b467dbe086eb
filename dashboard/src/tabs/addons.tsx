// Add-ons: those attached to the app (detach; PostgreSQL's backups), a new one (provisioned and
// attached in a release), and attaching one another app has.
import { useState } from 'preact/hooks';
import { useActions } from '../action.js';
import { appPath, request, waitForHeaderRelease } from '../api.js';
import { Skeleton } from '../components/skeleton.js';
import { StatusDot } from '../components/status-dot.js';
import type { TabProps } from './tab.js';
import { useResource } from '../resource.js';
import type { Addon } from '../types.js';
import { Backups } from './backups.js';

const SERVICES = { postgresql: 'PostgreSQL', redis: 'Redis' } as const;

export function AddonsTab({ app }: TabProps) {
  const attached = useResource<Addon[]>(appPath(app, '/addons'), app);
  const all = useResource<Addon[]>('/v1/addons', app);
  const { run, busy } = useActions();
  const [service, setService] = useState<keyof typeof SERVICES>('postgresql');
  const [as, setAs] = useState('');
  const [other, setOther] = useState('');

  /** An add-on change that makes a release: waits for it, then says which. */
  const change = (progress: string, method: string, path: string, body: unknown, done: (addon: Addon) => string) =>
    run(progress, async () => {
      const res = await request(method, path, body);
      const addon = (await res.json()) as Addon;
      const release = await waitForHeaderRelease(app, res);
      await Promise.all([attached.reload(), all.reload()]);
      return `${done(addon)}${release ? `: released v${release.version}` : ''}`;
    });
  const create = async (e: SubmitEvent) => {
    e.preventDefault();
    const body = as.trim() ? { service, as: as.trim() } : { service };
    if (await change(`Creating a ${SERVICES[service]} add-on for ${app}…`, 'POST', appPath(app, '/addons'), body, (a) => `Created ${a.name}`)) setAs('');
  };
  const attach = (e: SubmitEvent) => {
    e.preventDefault();
    if (other) void change(`Attaching ${other}…`, 'POST', `/v1/addons/${encodeURIComponent(other)}/attachments`, { app }, (a) => `Attached ${a.name}`);
  };
  const detach = (name: string) => change(`Detaching ${name}…`, 'DELETE', `/v1/addons/${encodeURIComponent(name)}/attachments/${encodeURIComponent(app)}`, undefined, (a) => `Detached ${a.name}`);
  const others = (all.data ?? []).filter((a) => !a.attachments.some((t) => t.app === app));

  return (
    <>
      <section aria-labelledby="addons-heading">
        <h2 id="addons-heading">Add-ons</h2>
        {!attached.data ? (
          attached.error ? <p class="error">{attached.error.message}</p> : <Skeleton rows={1} kind="card" />
        ) : !attached.data.length ? (
          <p class="hint">No add-ons attached.</p>
        ) : (
          <ul class="cards">
            {attached.data.map((a) => {
              const mine = a.attachments.find((t) => t.app === app)?.as ?? '';
              return (
                <li key={a.name} data-addon={a.name}>
                  <div class="card-head">
                    <h3>{a.name}</h3>
                    <StatusDot kind={a.state} />
                  </div>
                  <p>
                    {SERVICES[a.service] ?? a.service} {a.version}, attached as <code>{mine}_URL</code>
                    {a.attachments.length > 1 && ` (also to ${a.attachments.filter((t) => t.app !== app).map((t) => t.app).join(', ')})`}
                  </p>
                  <button type="button" aria-label={`Detach ${a.name}`} onClick={() => void detach(a.name)} disabled={busy}>
                    Detach
                  </button>
                  {a.service === 'postgresql' && <Backups app={app} as={mine} />}
                </li>
              );
            })}
          </ul>
        )}
      </section>
      <section aria-labelledby="new-addon-heading">
        <h2 id="new-addon-heading">New add-on</h2>
        <form class="add" onSubmit={(e) => void create(e)}>
          <div class="field">
            <label for="addon-service">Service</label>
            <select id="addon-service" value={service} onChange={(e) => setService(e.currentTarget.value as keyof typeof SERVICES)}>
              {Object.entries(SERVICES).map(([value, label]) => (
                <option key={value} value={value}>
                  {label}
                </option>
              ))}
            </select>
          </div>
          <div class="field">
            <label for="addon-as">Attach as (optional)</label>
            <input id="addon-as" value={as} onInput={(e) => setAs(e.currentTarget.value)} placeholder={service === 'postgresql' ? 'DATABASE' : 'REDIS'} autoComplete="off" spellcheck={false} />
          </div>
          <button type="submit" class="primary" disabled={busy}>
            Create add-on
          </button>
        </form>
      </section>
      {others.length > 0 && (
        <section aria-labelledby="attach-heading">
          <h2 id="attach-heading">Attach an existing add-on</h2>
          <form class="add" onSubmit={attach}>
            <div class="field">
              <label for="addon-other">Add-on</label>
              <select id="addon-other" value={other} onChange={(e) => setOther(e.currentTarget.value)}>
                <option value="">Choose one</option>
                {others.map((a) => (
                  <option key={a.name} value={a.name}>
                    {a.name} ({SERVICES[a.service] ?? a.service})
                  </option>
                ))}
              </select>
            </div>
            <button type="submit" disabled={busy || !other}>
              Attach add-on
            </button>
          </form>
        </section>
      )}
    </>
  );
}
