// Every helper program paas runs (git, cp, tar, npm, ip, mount, initdb…) starts in a process group
// of its own. A Ctrl-C at the terminal of `npm start`, or a TERM sent to paas's process group,
// reaches every member of that group at once: there, the steps of a deploy would die before paas,
// which drains deploys on that signal, could let them finish, and the pusher would be told nothing
// (issue 24). Apart, they stop when paas stops them.
import { execFile, type ExecFileOptions, type SpawnOptions } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** `promisify(execFile)`, with the child in a process group of its own (`detached`). */
// The casts: execFile passes `detached` on to spawn, though its option type leaves it out; and the
// wrapper keeps execFile's overloads (string or Buffer output by `encoding`), adding only that option.
export const runApart = ((file: string, args: readonly string[], opts: object = {}) => execFileAsync(file, args, { ...opts, detached: true } as ExecFileOptions)) as unknown as typeof execFileAsync;

/** Options for `spawn` of a helper program: its own process group, as runApart's. */
export function apart<const T extends SpawnOptions>(opts: T): T & { detached: true } {
  return { ...opts, detached: true };
}
