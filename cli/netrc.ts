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

/** What netrc-parser would write for `machines` (its `output` is private in the typings, public at run time). */
function render(machines: ReturnType<typeof parse>): string {
  const netrc = new Netrc();
  netrc.machines = machines;
  return (netrc as unknown as { output: string }).output;
}

/**
 * Saves `login`/`password` for `host`. netrc-parser (the Heroku CLI's own) rewrites only that
 * machine's entry, in place, and keeps comments, order and every other entry as they were. It has
 * blind spots (a comment holding the word "machine" reads as an entry), so the file is changed only
 * when the library reproduces it byte for byte first. The new file replaces the old one in a single
 * rename, private (0600) from its first byte, so a crash never leaves other credentials cut short.
 */
export function writeNetrcEntry(host: string, login: string, password: string): void {
  const file = netrcPath();
  const text = readNetrc(); // throws rather than let an unreadable file be replaced by our one entry
  const machines = parse(text);
  if (render(machines) !== text) {
    throw new CliError(
      `${file} has a layout the netrc library cannot rewrite without changing other lines (often a comment with the word "machine" in it), so it was left as it is. ` +
        `Add these lines to it yourself: "machine ${host} login ${login} password <token>", or set PAAS_API_TOKEN.`,
    );
  }
  machines[host] = { login, password };
  // Through a link (dotfile managers make ~/.netrc one), the file it points at is what changes.
  const target = fs.existsSync(file) ? fs.realpathSync(file) : file;
  const temp = `${target}.paas-${process.pid}`;
  try {
    fs.writeFileSync(temp, render(machines), { mode: 0o600, flag: 'wx' });
    fs.renameSync(temp, target);
  } catch (err) {
    fs.rmSync(temp, { force: true });
    throw new CliError(`Cannot write ${file}: ${(err as Error).message}`);
  }
}
