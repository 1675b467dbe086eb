// Destroy app: a dialog that enables its button only once the app's name is typed, as
// `paas apps:destroy NAME --confirm NAME` asks for it.
import { useState } from 'preact/hooks';
import { useActions } from '../action.js';
import { api, appPath } from '../api.js';
import { Dialog } from '../components/dialog.js';
import { navigate } from '../router.js';

export function DestroyApp({ app }: { app: string }) {
  const { run, busy } = useActions();
  const [open, setOpen] = useState(false);
  const [typed, setTyped] = useState('');
  const [addons, setAddons] = useState(false);
  const close = () => {
    setOpen(false);
    setTyped('');
  };
  const destroy = async (e: SubmitEvent) => {
    e.preventDefault();
    if (typed !== app) return;
    close();
    const ok = await run(`Destroying ${app}…`, async () => {
      const answer = await api<{ destroyed_addons: string[]; kept_addons: string[] } | undefined>('DELETE', appPath(app, addons ? '?destroy_addons=true' : ''));
      const kept = answer?.kept_addons.length ? ` Kept add-on${answer.kept_addons.length > 1 ? 's' : ''} ${answer.kept_addons.join(', ')} with its data.` : '';
      return `Destroyed ${app}.${kept}`;
    });
    if (ok) navigate('/');
  };
  return (
    <section aria-labelledby="destroy-heading" class="danger">
      <h2 id="destroy-heading">Destroy app</h2>
      <p>Stops its dynos and deletes its code, releases, config vars, logs and domains. This cannot be undone.</p>
      <button type="button" class="danger" onClick={() => setOpen(true)} disabled={busy}>
        Destroy app
      </button>
      <Dialog open={open} title={`Destroy ${app}?`} onClose={close}>
        <form onSubmit={(e) => void destroy(e)}>
          <label for="destroy-confirm">Type the app's name to confirm</label>
          <input id="destroy-confirm" value={typed} onInput={(e) => setTyped(e.currentTarget.value)} autoComplete="off" spellcheck={false} aria-describedby="destroy-hint" />
          <p id="destroy-hint" class="hint">
            Type <strong>{app}</strong>.
          </p>
          <label class="check">
            <input type="checkbox" checked={addons} onChange={(e) => setAddons(e.currentTarget.checked)} /> Also destroy its add-ons that no other app uses, with their data
          </label>
          <div class="buttons">
            <button type="button" onClick={close}>
              Cancel
            </button>
            <button type="submit" class="danger" disabled={typed !== app}>
              Destroy
            </button>
          </div>
        </form>
      </Dialog>
    </section>
  );
}
