// The formation editor: − and + change a type's count here only; Scale sends every change in one
// `PATCH /formation`, which answers once the dynos run.
import { useState } from 'preact/hooks';
import { useActions } from '../action.js';
import { api, appPath } from '../api.js';
import type { FormationEntry } from '../types.js';

export function Formation({ app, entries, onScaled }: { app: string; entries: FormationEntry[]; onScaled: () => Promise<void> }) {
  const { run, busy } = useActions();
  const [draft, setDraft] = useState<Record<string, number>>({});
  const quantity = (e: FormationEntry) => draft[e.type] ?? e.quantity;
  const changed = entries.filter((e) => quantity(e) !== e.quantity);
  const set = (type: string, n: number) => setDraft((d) => ({ ...d, [type]: Math.max(0, n) }));
  const scale = () => {
    const what = changed.map((e) => `${e.type} to ${quantity(e)}`).join(', ');
    const updates = changed.map((e) => ({ type: e.type, quantity: quantity(e) }));
    return run(`Scaling ${what}…`, async () => {
      await api('PATCH', appPath(app, '/formation'), { updates });
      setDraft({});
      await onScaled();
      return `Scaled ${what}`;
    });
  };
  if (!entries.length) return <p class="hint">No process types yet: the first push brings them (the Procfile, or the buildpack's default web).</p>;
  return (
    <>
      <ul class="rows formation">
        {entries.map((e) => (
          <li key={e.type}>
            <span class="name">{e.type}</span>
            <code class="command">{e.command}</code>
            <span class="stepper">
              <button type="button" aria-label={`Decrease ${e.type}`} onClick={() => set(e.type, quantity(e) - 1)} disabled={busy || quantity(e) <= 0}>
                −
              </button>
              <span class="quantity" data-quantity={e.type}>
                {quantity(e)}
              </span>
              <button type="button" aria-label={`Increase ${e.type}`} onClick={() => set(e.type, quantity(e) + 1)} disabled={busy}>
                +
              </button>
            </span>
          </li>
        ))}
      </ul>
      <button type="button" class="primary" onClick={() => void scale()} disabled={busy || !changed.length}>
        Scale
      </button>
    </>
  );
}
