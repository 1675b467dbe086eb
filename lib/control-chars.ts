// App output is shown on terminals (`paas logs`, the server's stdout): a line carrying terminal
// escapes could rewrite what the operator sees (move the cursor, retitle the window, hide lines).

// C0 but tab, DEL and C1: what a terminal may act on rather than print.
// eslint-disable-next-line no-control-regex -- control characters are what it finds
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/;
// eslint-disable-next-line no-control-regex -- control characters are what it finds
const CONTROLS = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/g;

const hex = (c: string) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;

/**
 * `text` with every control character but tab (C0, DEL, C1) written as a visible `\xNN` (ESC
 * becomes `\x1b`), fit to show on a terminal. Text without any comes back as it is, at the cost of
 * one scan.
 */
export function escapeControls(text: string): string {
  return CONTROL.test(text) ? text.replace(CONTROLS, hex) : text;
}

/**
 * `JSON.stringify(value)` with DEL and C1 written as `\u00NN` too (JSON's own escapes cover C0
 * only): the same data for a JSON reader, nothing a terminal acts on.
 */
export function terminalSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\x7f-\x9f]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`);
}
