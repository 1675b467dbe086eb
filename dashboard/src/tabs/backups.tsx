// A PostgreSQL add-on's backups: capture one, restore one (after a confirm: it replaces the data).
import { useState } from 'preact/hooks';
import { useActions } from '../action.js';
import { api, appPath } from '../api.js';
import { Dialog } from '../components/dialog.js';
import { StatusDot } from '../components/status-dot.js';
import { Time } from '../components/time.js';
import { useResource } from '../resource.js';
import type { Backup } from '../types.js';

const size = (bytes: number | null) => (bytes === null ? '' : bytes < 1024 * 1024 ? `${Math.ceil(bytes / 1024)} KB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`);

export function Backups({ app, as }: { app: string; as: string }) {
  const query = `?as=${encodeURIComponent(as)}`;
  const backups = useResource<Backup[]>(appPath(app, `/pg/backups${query}`), app);
  const { run, busy } = useActions();
  const [restoring, setRestoring] = useState<Backup | undefined>();
  const capture = () =>
    run(`Capturing a backup of ${as}_URL…`, async () => {
      const b = await api<Backup>('POST', appPath(app, `/pg/backups${query}`));
      await backups.reload();
      return `Captured backup ${b.id}`;
    });
  const restore = (b: Backup) => {
    setRestoring(undefined);
    return run(`Restoring backup ${b.id}…`, async () => {
      await api('POST', appPath(app, `/pg/backups/${encodeURIComponent(b.id)}/restore${query}`));
      return `Restored backup ${b.id}`;
    });
  };
  return (
    <div class="backups">
      <h4>Backups</h4>
      {backups.data?.length ? (
        <ul class="rows">
          {backups.data.map((b) => (
            <li key={b.id} data-backup={b.id}>
              <code class="name">{b.id}</code>
              <StatusDot kind={b.status} />
              <span class="meta">
                {size(b.size)} <Time iso={b.created_at} />
              </span>
              {b.status === 'succeeded' && (
                <button type="button" aria-label={`Restore ${b.id}`} onClick={() => setRestoring(b)} disabled={busy}>
                  Restore
                </button>
              )}
            </li>
          ))}
        </ul>
      ) : (
        <p class="hint">{backups.data ? 'No backups yet.' : backups.error ? backups.error.message : 'Loading…'}</p>
      )}
      <button type="button" onClick={() => void capture()} disabled={busy}>
        Capture backup
      </button>
      <Dialog open={!!restoring} title={`Restore ${restoring?.id ?? ''}?`} onClose={() => setRestoring(undefined)}>
        <p>The add-on's data is replaced with the backup's. What was written since it was captured is lost.</p>
        <div class="buttons">
          <button type="button" onClick={() => setRestoring(undefined)}>
            Cancel
          </button>
          <button type="button" class="danger" onClick={() => restoring && void restore(restoring)}>
            Restore
          </button>
        </div>
      </Dialog>
    </div>
  );
}
