// Settings: config vars (hidden until revealed; add, edit, remove, each save one release) and, at
// the bottom, destroying the app.
import { useState } from 'preact/hooks';
import { useActions } from '../action.js';
import { api, appPath, waitForRelease } from '../api.js';
import { Skeleton } from '../components/skeleton.js';
import type { TabProps } from './tab.js';
import { useResource } from '../resource.js';
import type { Addon, ConfigVars, Release } from '../types.js';
import { DestroyApp } from './destroy.js';

export function SettingsTab({ app }: TabProps) {
  const config = useResource<ConfigVars>(appPath(app, '/config'), app);
  const addons = useResource<Addon[]>(appPath(app, '/addons'), app);
  const [revealed, setRevealed] = useState(false);
  const [editing, setEditing] = useState<string | undefined>();
  const { run, busy } = useActions();
  // An attached add-on's NAME_URL is the add-on's to set: the API refuses changes to it.
  const owned = new Set((addons.data ?? []).flatMap((a) => a.attachments.filter((t) => t.app === app).map((t) => `${t.as}_URL`)));

  /** One PATCH, so one release, then waits for it to go live. */
  const save = (change: Record<string, string | null>, progress: string) =>
    run(progress, async () => {
      const release = await api<Release>('PATCH', appPath(app, '/config'), change);
      const live = await waitForRelease(app, release);
      await config.reload();
      return `Released v${live.version}`;
    });

  const values = config.data ?? {};
  const vars = Object.keys(values).sort();
  return (
    <>
      <section aria-labelledby="config-heading">
        <div class="heading">
          <h2 id="config-heading">Config vars</h2>
          <button type="button" onClick={() => setRevealed(!revealed)}>
            {revealed ? 'Hide config vars' : 'Reveal config vars'}
          </button>
        </div>
        {!config.data ? (
          config.error ? <p class="error">{config.error.message}</p> : <Skeleton rows={2} />
        ) : !vars.length ? (
          <p class="hint">No config vars yet.</p>
        ) : (
          <ul class="rows config">
            {vars.map((key) => (
              <li key={key} data-config-key={key}>
                <code class="name">{key}</code>
                {editing === key ? (
                  <EditVar name={key} value={values[key]} onCancel={() => setEditing(undefined)} onSave={(value) => (setEditing(undefined), void save({ [key]: value }, `Setting ${key} and restarting ${app}…`))} />
                ) : (
                  <>
                    <span class="value">{revealed ? values[key] : <HiddenValue />}</span>
                    {owned.has(key) ? (
                      <span class="hint">set by its add-on</span>
                    ) : (
                      <span class="buttons">
                        <button type="button" aria-label={`Edit ${key}`} onClick={() => setEditing(key)} disabled={busy}>
                          Edit
                        </button>
                        <button type="button" aria-label={`Remove ${key}`} onClick={() => void save({ [key]: null }, `Removing ${key} and restarting ${app}…`)} disabled={busy}>
                          Remove
                        </button>
                      </span>
                    )}
                  </>
                )}
              </li>
            ))}
          </ul>
        )}
        <AddVar busy={busy} onAdd={(key, value) => save({ [key]: value }, `Setting ${key} and restarting ${app}…`)} />
      </section>
      <DestroyApp app={app} />
    </>
  );
}

function EditVar({ name, value, onSave, onCancel }: { name: string; value: string; onSave: (value: string) => void; onCancel: () => void }) {
  const [text, setText] = useState(value);
  const id = `edit-${name}`;
  return (
    <form
      class="inline"
      onSubmit={(e) => {
        e.preventDefault();
        onSave(text);
      }}
    >
      <label for={id} class="visually-hidden">
        New value of {name}
      </label>
      <input id={id} value={text} onInput={(e) => setText(e.currentTarget.value)} autoComplete="off" spellcheck={false} autoFocus />
      <button type="submit" class="primary">
        Save
      </button>
      <button type="button" onClick={onCancel}>
        Cancel
      </button>
    </form>
  );
}

function AddVar({ busy, onAdd }: { busy: boolean; onAdd: (key: string, value: string) => Promise<boolean> }) {
  const [key, setKey] = useState('');
  const [value, setValue] = useState('');
  const submit = async (e: SubmitEvent) => {
    e.preventDefault();
    if (await onAdd(key.trim(), value)) {
      setKey('');
      setValue('');
    }
  };
  return (
    <form class="add" onSubmit={(e) => void submit(e)}>
      <div class="field">
        <label for="config-key">Key</label>
        <input id="config-key" value={key} onInput={(e) => setKey(e.currentTarget.value)} required autoComplete="off" spellcheck={false} />
      </div>
      <div class="field grow">
        <label for="config-value">Value</label>
        <input id="config-value" value={value} onInput={(e) => setValue(e.currentTarget.value)} autoComplete="off" spellcheck={false} />
      </div>
      <button type="submit" class="primary" disabled={busy}>
        Add
      </button>
    </form>
  );
}

function HiddenValue() {
  return (
    <>
      <span aria-hidden="true">••••••••</span>
      <span class="visually-hidden">hidden</span>
    </>
  );
}
