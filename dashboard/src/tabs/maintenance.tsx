// Maintenance: one switch. On, the routers answer the app's requests with a 503 maintenance page;
// the dynos keep running and no release is made.
import { useState } from 'preact/hooks';
import { useActions } from '../action.js';
import { api, appPath } from '../api.js';
import { Skeleton } from '../components/skeleton.js';
import type { TabProps } from './tab.js';
import type { App } from '../types.js';

export function MaintenanceTab({ app, info }: TabProps) {
  const { run, busy } = useActions();
  // The switch shows what was asked for while the change is under way, not the state before it.
  const [asked, setAsked] = useState<boolean | undefined>();
  const on = asked ?? info.data?.maintenance ?? false;
  const toggle = async (wanted: boolean) => {
    setAsked(wanted);
    await run(`Turning maintenance mode ${wanted ? 'on' : 'off'}…`, async () => {
      const now = await api<App>('PATCH', appPath(app), { maintenance: wanted });
      await info.reload();
      return `Maintenance mode is ${now.maintenance ? 'on' : 'off'}`;
    });
    setAsked(undefined);
  };
  return (
    <section aria-labelledby="maintenance-heading">
      <h2 id="maintenance-heading">Maintenance</h2>
      {info.data ? (
        <label class="switch">
          <input type="checkbox" role="switch" checked={on} disabled={busy} onChange={(e) => void toggle(e.currentTarget.checked)} aria-describedby="maintenance-hint" />
          Maintenance mode
        </label>
      ) : (
        <Skeleton rows={1} />
      )}
      <p id="maintenance-hint" class="hint">
        While it is on, visitors get a 503 maintenance page; the dynos keep running, and turning it off routes to them again at once.
      </p>
    </section>
  );
}
