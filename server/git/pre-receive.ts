import { type ChildProcess, spawn, type StdioPipe } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { deployCommit, isUserFailure } from '../control/deploy.js';
import type { Deps } from '../control/deps.js';
import { failureMessage } from '../control/releases.js';
import { boundedLines } from '../http/bounded-output.js';
import { PUSH_CANCELLED, type Push } from './pushes.js';
import { apart } from '../../lib/run-apart.js';

/**
 * The pre-receive hook of every app repository (core.hooksPath), a POSIX sh script that starts no
 * Node: git runs it inside the receive-pack the server spawned with three more pipes (HOOK_STDIO),
 * which git leaves open for its hooks. It hands the push to the server on fd 3 (git's quarantine
 * variables, then its stdin, the ref updates: one per line, then an empty line), prints what the
 * server sends on fd 4 (git relays it as `remote:` lines), and exits 0 only if fd 5 then reads
 * `ok`. It runs nothing it reads: the server decides everything (servePreReceive).
 */
const HOOK_SCRIPT = `#!/bin/sh
# Written by paas at start-up: the pre-receive hook of the paas server that spawned this git.
if ! { true >&3 && true <&4 && true <&5; } 2>/dev/null; then
  printf '\\n !     %s\\n\\n' 'This repository can only be pushed to through the paas server.'
  exit 1
fi
{
  printf '%s\\n' "$GIT_QUARANTINE_PATH" "$GIT_OBJECT_DIRECTORY" "$GIT_ALTERNATE_OBJECT_DIRECTORIES"
  cat
  echo
} >&3
cat <&4
IFS= read -r status <&5 || status=
[ "$status" = ok ] && exit 0
[ -n "$status" ] || printf '\\n !     %s\\n\\n' 'Push rejected: The paas server stopped before the deploy finished.'
exit 1
`;

/** stdio of a receive-pack: fds 3 (from the hook), 4 (its output) and 5 (its status) are the hook's. */
export const HOOK_STDIO: StdioPipe[] = ['pipe', 'pipe', 'pipe', 'pipe', 'pipe', 'pipe'];

/** Writes the hooks directory every receive-pack runs with (core.hooksPath). */
export function installHooks(hooksDir: string): void {
  fs.mkdirSync(hooksDir, { recursive: true });
  fs.writeFileSync(`${hooksDir}/pre-receive`, HOOK_SCRIPT, { mode: 0o755 });
}

const ZERO = /^0+$/;
const DEPLOY_REFS = new Set(['refs/heads/main', 'refs/heads/master']);
const UPDATE = /^([0-9a-f]{40,64}) ([0-9a-f]{40,64}) (refs\/\S+)$/;
/** tmp-objdir.c names the quarantine `tmp_objdir-incoming-XXXXXX` in the repository's objects. */
const QUARANTINE = /^tmp_objdir-incoming-[A-Za-z0-9]+$/;
/** Far more than any push of a few refs sends; a hook that sends more is not ours. */
const MAX_REQUEST_BYTES = 256 * 1024;

interface HookRequest {
  /** GIT_QUARANTINE_PATH, GIT_OBJECT_DIRECTORY, GIT_ALTERNATE_OBJECT_DIRECTORIES as git set them. */
  quarantine: [string, string, string];
  updates: { newSha: string; ref: string }[];
}

/** Reads the hook's request from fd 3; undefined if git ended (or sent garbage) before it was whole. */
function readRequest(from: Readable): Promise<HookRequest | undefined> {
  return new Promise((resolve) => {
    const lines: string[] = [];
    let size = 0;
    const input = readline.createInterface({ input: from, crlfDelay: Infinity });
    // Resolved first: closing the interface runs its 'close' listener at once.
    const done = (request: HookRequest | undefined): void => {
      resolve(request);
      input.close();
      from.destroy();
    };
    input.on('line', (line) => {
      size += line.length + 1;
      if (size > MAX_REQUEST_BYTES) return done(undefined);
      // The three variables may be empty (a push that brought no objects), so the empty line only
      // ends the request after them.
      if (line !== '' || lines.length < 3) return void lines.push(line);
      const updates = lines.slice(3).map((l) => UPDATE.exec(l));
      if (updates.some((m) => !m)) return done(undefined);
      done({ quarantine: lines.slice(0, 3) as [string, string, string], updates: updates.map((m) => ({ newSha: m![2], ref: m![3] })) });
    });
    input.on('close', () => resolve(undefined));
  });
}

/** Why the ref updates cannot deploy, or undefined if they are one update of main or master. */
function refusedRefs(updates: HookRequest['updates']): string | undefined {
  const others = updates.filter((u) => !DEPLOY_REFS.has(u.ref));
  if (others.length) {
    return `Only the main or master branch deploys; refusing ${others.map((u) => u.ref).join(', ')}.\nPush your branch to main instead: git push paas <branch>:main`;
  }
  if (updates.length !== 1) return 'Push main or master, not both.';
  if (ZERO.test(updates[0].newSha)) return 'Deleting the deploy branch is not allowed.';
  return undefined;
}

/**
 * The environment `git archive` needs to read the pushed objects in quarantine, or undefined if
 * the variables are not git's quarantine of this repository. They are only ever environment values
 * of a git the server spawns, never shell code; checked all the same, since they cross a pipe.
 */
function quarantineEnv([quarantine, objects, alternates]: HookRequest['quarantine'], repo: string): Record<string, string> | undefined {
  if (!quarantine && !objects && !alternates) return {}; // no pack came: the objects are in the repository
  let inRepo = false;
  try {
    inRepo = fs.realpathSync(path.dirname(quarantine)) === fs.realpathSync(path.join(repo, 'objects'));
  } catch {
    // a path that does not exist is no quarantine of ours
  }
  if (!inRepo || !path.isAbsolute(quarantine) || !QUARANTINE.test(path.basename(quarantine)) || objects !== quarantine || !alternates) return undefined;
  return { GIT_QUARANTINE_PATH: quarantine, GIT_OBJECT_DIRECTORY: objects, GIT_ALTERNATE_OBJECT_DIRECTORIES: alternates };
}

/** A receive-pack's push: its app's deploy (`push`), or why it is refused before it is read. */
export interface HookRun {
  repo: string;
  push?: Push;
  refusal?: string;
}

/**
 * The server's side of the pre-receive hook of `child`, a receive-pack spawned with HOOK_STDIO:
 * reads the push, refuses it or runs `git archive` of its commit (with git's quarantine) into the
 * build, streams the build to the hook and tells it the outcome. If git ends before the outcome
 * (the pusher went away), the deploy is cancelled: git leaves the branch, so nothing goes live.
 */
export function servePreReceive(child: ChildProcess, run: HookRun, deps: Deps): void {
  // stdio is typed as a tuple of five; the sixth is there (HOOK_STDIO).
  const pipes = child.stdio as unknown as [unknown, unknown, unknown, Readable, Writable & { writableLength: number }, Writable];
  const [fromHook, output, status] = [pipes[3], pipes[4], pipes[5]];
  for (const s of [fromHook, output, status]) s.on('error', () => undefined);
  let answered = false;
  const answer = (ok: boolean, message?: string): void => {
    if (answered) return;
    answered = true;
    if (message) output.write(`\n !     ${message.split('\n').join('\n !     ')}\n\n`);
    // Destroyed once written: the child's 'close' waits for every pipe.
    status.end(ok ? 'ok\n' : 'fail\n', () => status.destroy());
    output.end(() => output.destroy());
  };
  child.on('exit', () => {
    if (answered) return;
    if (run.push?.deploying) run.push.cancel.abort(PUSH_CANCELLED);
    else answer(false);
  });
  void readRequest(fromHook).then(async (request) => {
    if (!request) return answer(false);
    const refused = run.refusal ?? refusedRefs(request.updates);
    if (refused || !run.push) return answer(false, refused);
    const env = quarantineEnv(request.quarantine, run.repo);
    if (!env) return answer(false, 'Push rejected: git did not say where the pushed objects are. Push again.');
    answer(...(await deploy(run.push, request.updates[0].newSha, { repo: run.repo, env, log: boundedLines(output) }, deps)));
  });
}

/** Builds `commit` from `git archive` of it and releases it; the hook's answer. */
async function deploy(push: Push, commit: string, to: { repo: string; env: Record<string, string>; log: (line: string) => void }, deps: Deps): Promise<[boolean, string?]> {
  const archive = spawn('git', ['archive', '--format=tar', commit], apart({
    cwd: to.repo,
    env: { ...deps.config.baseEnv, GIT_DIR: to.repo, ...to.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  }));
  archive.on('error', (err) => to.log(` !     git archive failed to start: ${err.message}`));
  readline.createInterface({ input: archive.stderr }).on('line', (line) => to.log(line));
  // Read from now on: once git exits, Node drops what nobody reads of its stdout yet, and the
  // build reads the tree only after its own start-up.
  const source = archive.stdout.pipe(new PassThrough());
  const deploying = deployCommit({ app: push.app, commit, source, log: to.log, createdBy: `${push.actor} (git push)`, signal: push.cancel.signal }, deps);
  push.deploying = deploying.catch(() => undefined);
  try {
    await deploying;
    return [true];
  } catch (err) {
    if (!isUserFailure(err)) console.error('deploy failed:', err);
    return [false, `Push rejected: ${failureMessage(err)}`];
  } finally {
    if (archive.exitCode === null) archive.kill();
  }
}
