/** Data goes to stdout. */
export function out(text = ''): void {
  process.stdout.write(`${text}\n`);
}

export function json(value: unknown): void {
  out(JSON.stringify(value, null, 2));
}

/** Progress goes to stderr, and only when a person is watching. */
export function progress(text: string): void {
  if (process.stderr.isTTY) process.stderr.write(text);
}

/**
 * Shows `label` and the seconds spent so far, redrawn each second, on a TTY's stderr while `work`
 * runs; the line stays, with the final time, when it ends. Off a TTY it prints nothing, as `progress`.
 */
export async function ticking<T>(label: string, work: Promise<T>): Promise<T> {
  if (!process.stderr.isTTY) return work;
  const started = Date.now();
  const draw = () => process.stderr.write(`\r${label} ${Math.floor((Date.now() - started) / 1000)} s`);
  draw();
  const timer = setInterval(draw, 1000);
  try {
    return await work;
  } finally {
    clearInterval(timer);
    draw();
    process.stderr.write('\n');
  }
}

/** Aligned `key: value` lines, as `heroku apps:info` prints them. */
export function keyValues(rows: [string, string][]): void {
  const width = Math.max(...rows.map(([k]) => k.length)) + 1;
  for (const [k, v] of rows) out(`${`${k}:`.padEnd(width)} ${v}`);
}
