// Create app: a dialog for the name (empty: the server picks one), then the git remote command to copy.
import { useState } from 'preact/hooks';
import { useActions } from '../action.js';
import { api } from '../api.js';
import { CopyButton } from '../components/copy.js';
import { Dialog } from '../components/dialog.js';
import type { App } from '../types.js';

export function CreateApp({ onCreated }: { onCreated: (app: App) => Promise<void> }) {
  const { run, busy } = useActions();
  const [open, setOpen] = useState(false);
  const [name, setName] = useState('');
  const submit = async (e: SubmitEvent) => {
    e.preventDefault();
    setOpen(false);
    const wanted = name.trim();
    const ok = await run(`Creating ${wanted || 'an app'}…`, async () => {
      const app = await api<App>('POST', '/v1/apps', wanted ? { name: wanted } : {});
      await onCreated(app);
      return `Created ${app.name}`;
    });
    if (ok) setName('');
  };
  return (
    <>
      <button type="button" class="primary" onClick={() => setOpen(true)} disabled={busy}>
        Create app
      </button>
      <Dialog open={open} title="Create an app" onClose={() => setOpen(false)}>
        <form method="dialog" onSubmit={(e) => void submit(e)}>
          <label for="new-app-name">App name</label>
          <input id="new-app-name" value={name} onInput={(e) => setName(e.currentTarget.value)} maxLength={30} autoComplete="off" spellcheck={false} aria-describedby="new-app-hint" />
          <p id="new-app-hint" class="hint">
            2 to 30 lowercase letters, digits and dashes, starting with a letter. Leave it empty for a generated name.
          </p>
          <div class="buttons">
            <button type="button" onClick={() => setOpen(false)}>
              Cancel
            </button>
            <button type="submit" class="primary">
              Create
            </button>
          </div>
        </form>
      </Dialog>
    </>
  );
}

/** What to do with the app just created: the git remote command, with a Copy button. */
export function PushTo({ app }: { app: App }) {
  const remote = `git remote add paas ${app.git_url}`;
  return (
    <section class="created" aria-labelledby="created-heading">
      <h2 id="created-heading">Push to {app.name}</h2>
      <p>In your app's git checkout, add the remote, then <code>git push paas main</code>:</p>
      <div class="command">
        <code>{remote}</code>
        <CopyButton text={remote} what="the git remote command" />
      </div>
      <p class="hint">
        git asks for a password: give the API token. With the paas CLI, <code>paas git:remote -a {app.name}</code> adds the remote and has git ask paas for the token instead.
      </p>
    </section>
  );
}
