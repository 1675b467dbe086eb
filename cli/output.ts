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

/** Aligned `key: value` lines, as `heroku apps:info` prints them. */
export function keyValues(rows: [string, string][]): void {
  const width = Math.max(...rows.map(([k]) => k.length)) + 1;
  for (const [k, v] of rows) out(`${`${k}:`.padEnd(width)} ${v}`);
}
