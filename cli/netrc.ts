import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** ~/.netrc, which git's HTTP transport also reads, so one login serves both the CLI and `git push`. */
export function netrcPath(): string {
  return path.join(process.env.HOME || os.homedir(), '.netrc');
}

type Entry = { machine: string | null; tokens: string[] };

function parse(text: string): Entry[] {
  const entries: Entry[] = [];
  const words = text.split(/\s+/).filter(Boolean);
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (w === 'machine') entries.push({ machine: words[++i] ?? '', tokens: [] });
    else if (w === 'default') entries.push({ machine: null, tokens: [] });
    else if (entries.length) entries[entries.length - 1].tokens.push(w);
  }
  return entries;
}

function field(tokens: string[], key: string): string | undefined {
  const i = tokens.indexOf(key);
  return i >= 0 ? tokens[i + 1] : undefined;
}

/** The password stored for `host`, if any. */
export function readNetrcPassword(host: string): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(netrcPath(), 'utf8');
  } catch {
    return undefined;
  }
  const entry = parse(text).find((e) => e.machine === host);
  return entry ? field(entry.tokens, 'password') : undefined;
}

/** Saves `login`/`password` for `host`, keeping every other entry; the file stays private (0600). */
export function writeNetrcEntry(host: string, login: string, password: string): void {
  let text = '';
  try {
    text = fs.readFileSync(netrcPath(), 'utf8');
  } catch {
    // A first login creates the file.
  }
  const kept = parse(text).filter((e) => e.machine !== host);
  kept.push({ machine: host, tokens: ['login', login, 'password', password] });
  const out = kept
    .map((e) => `${e.machine === null ? 'default' : `machine ${e.machine}`}\n  ${e.tokens.join(' ').replace(/ (?=login|password|account|macdef)/g, '\n  ')}`)
    .join('\n');
  fs.writeFileSync(netrcPath(), `${out}\n`, { mode: 0o600 });
  fs.chmodSync(netrcPath(), 0o600);
}
