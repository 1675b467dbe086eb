import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Netrc, parse } from 'netrc-parser';
import { CliError } from './errors.js';

/** ~/.netrc, which git's HTTP transport also reads, so one login serves both the CLI and `git push`. */
export function netrcPath(): string {
  return path.join(process.env.HOME || os.homedir(), '.netrc');
}

/** The file's text ('' if there is none), ending in a newline: netrc-parser appends new entries right after the last byte. */
function readNetrc(): string {
  let text: string;
  try {
    text = fs.readFileSync(netrcPath(), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw new CliError(`Cannot read ${netrcPath()}: ${(err as Error).message}`);
  }
  return text && !text.endsWith('\n') ? `${text}\n` : text;
}

/** The password stored for `host`, if any. */
export function readNetrcPassword(host: string): string | undefined {
  try {
    return parse(readNetrc())[host]?.password;
  } catch {
    return undefined; // an unreadable ~/.netrc holds no login we can use
  }
}

/**
 * Saves `login`/`password` for `host`. netrc-parser (the Heroku CLI's own) rewrites only that
 * machine's entry, in place, and keeps comments, order and every other entry as they were. The file
 * is private (0600), and made so before the new password is written into it.
 */
export function writeNetrcEntry(host: string, login: string, password: string): void {
  const file = netrcPath();
  const text = readNetrc(); // throws rather than let an unreadable file be replaced by our one entry
  if (text) fs.chmodSync(file, 0o600);
  const netrc = new Netrc(file);
  netrc.machines = parse(text);
  netrc.machines[host] = { login, password };
  netrc.saveSync(); // a missing file is created 0600; an existing one is written through (a symlink stays one)
}
