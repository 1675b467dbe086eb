import { useActions } from '../action.js';

/** Puts `text` on the clipboard; over plain HTTP (no Clipboard API there) through a selected textarea. */
async function copyText(text: string): Promise<void> {
  if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.className = 'offscreen';
  document.body.append(area);
  area.select();
  const ok = document.execCommand('copy');
  area.remove();
  if (!ok) throw new Error('The browser would not copy: select the command and copy it by hand.');
}

/** A "Copy" button for the text shown beside it; says what it copied in the status element. */
export function CopyButton({ text, what }: { text: string; what: string }) {
  const { run } = useActions();
  const copy = () =>
    run(`Copying ${what}…`, async () => {
      await copyText(text);
      return `Copied ${what}`;
    });
  return (
    <button type="button" onClick={() => void copy()}>
      Copy
    </button>
  );
}
