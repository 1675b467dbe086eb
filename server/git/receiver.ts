import { spawn } from 'node:child_process';
import zlib from 'node:zlib';
import type { Readable } from 'node:stream';
import express, { type Response } from 'express';
import { gitToken, tokenMatches, userFromRequest } from '../http/auth.js';
import type { Deps } from '../control/deps.js';
import { PaasError } from '../../lib/errors.js';
import { SHUTTING_DOWN } from '../control/lifecycle.js';
import { repoDir } from '../store/paths.js';
import type { AppRow } from '../store/apps.js';
import { type Push, PUSH_CANCELLED } from './pushes.js';
import { HOOK_STDIO, servePreReceive } from './pre-receive.js';
import { FLUSH, readHead } from './request-head.js';
import { requireApp } from '../control/queries.js';
import { spaceProblem } from '../disk/space.js';
import { apart } from '../../lib/run-apart.js';

const SERVICES = new Set(['git-receive-pack', 'git-upload-pack']);
const GIT_PATH = /^\/([a-z][a-z0-9-]{1,29})\.git\/(info\/refs|git-receive-pack|git-upload-pack)$/;

function pktLine(s: string): string {
  return (s.length + 4).toString(16).padStart(4, '0') + s;
}

/** git itself could not run (missing binary, no processes left): log it and cut the response. */
function failed(res: Response, err: Error): void {
  console.error('git failed to start:', err.message);
  res.destroy();
}

function gitError(res: Response, status: number, message: string): void {
  if (status === 401) res.set('www-authenticate', 'Basic realm="paas"');
  res.status(status).type('text/plain').send(`${message}\n`);
}

/** An ERR packet is how git shows a server's message at the start of a fetch or push: "fatal: remote error: …". */
function gitErrPacket(res: Response, service: string, message: string): void {
  const kind = SERVICES.has(service) ? service : 'git-receive-pack';
  res.type(`application/x-${kind}-advertisement`).send(`${pktLine(`# service=${kind}\n`)}0000${pktLine(`ERR ${message}`)}`);
}

/**
 * Git smart HTTP (the stateless-rpc protocol that `git http-backend` speaks) for /<app>.git.
 * Pushes run our pre-receive hook, which hands the push to this server through pipes of the
 * receive-pack (pre-receive.ts); fetches and clones are served too.
 */
export function gitRoutes(deps: Deps): express.Router {
  const r = express.Router();
  r.use((req, res, next) => {
    const m = GIT_PATH.exec(req.path);
    if (!m) return next();
    const [, name, action] = m as unknown as [string, string, string];
    if (deps.lifecycle.draining) {
      res.set('connection', 'close');
      if (action === 'info/refs') return gitErrPacket(res, String(req.query.service ?? ''), SHUTTING_DOWN);
      return gitError(res, 503, SHUTTING_DOWN);
    }
    if (!tokenMatches(gitToken(req), deps.config.apiToken!)) {
      return gitError(res, 401, 'Invalid credentials: use the paas API token as the password (run `paas git:remote -a <app>` in the checkout, or `paas login`).');
    }
    const service = action === 'info/refs' ? String(req.query.service ?? '') : action;
    if (!SERVICES.has(service)) return gitError(res, 403, 'Only smart HTTP git clients are supported (git 1.6.6 or newer).');
    let app;
    try {
      app = requireApp(deps, name);
    } catch (err) {
      if (!(err instanceof PaasError) || action !== 'info/refs') throw err;
      return gitErrPacket(res, service, `App ${name} does not exist. Create it first with \`paas apps:create ${name}\`.`);
    }
    const dir = repoDir(deps.paths, app.name);
    const cmd = service.slice('git-'.length);
    res.set('cache-control', 'no-cache');

    if (action === 'info/refs') {
      // A full data dir refuses a push before git unpacks anything, in words (not "unpacker error").
      const full = service === 'git-receive-pack' && spaceProblem(deps.paths.root, deps.config.disk.minFreeBytes, 'this push was not applied');
      if (full) return gitErrPacket(res, service, full.message);
      const child = spawn('git', [cmd, '--stateless-rpc', '--advertise-refs', dir], apart({ env: deps.config.baseEnv }));
      child.on('error', (err) => failed(res, err));
      res.type(`application/x-${service}-advertisement`);
      res.write(`${pktLine(`# service=${service}\n`)}0000`);
      child.stdout.pipe(res);
      return;
    }

    let body: Readable = req;
    if (req.headers['content-encoding'] === 'gzip') body = req.pipe(zlib.createGunzip());
    readHead(body).then(
      ({ head, ended }) => {
        // git's probe before a big request: the service would read no commands and answer nothing,
        // so it is answered here, without the lock the request carrying the pack will take.
        if (ended && head.equals(FLUSH)) return void res.type(`application/x-${service}-result`).end();
        runService({ service, app, actor: userFromRequest(req) || 'git', body, head, ended, res }, deps);
      },
      // A corrupt gzip body or a dropped connection ends this request, never the server.
      () => res.destroy(),
    );
  });
  return r;
}

/** Bounds the repository's housekeeping, which a push never waits for. */
const GC_TIMEOUT_MS = 5 * 60_000;

/**
 * `git gc --auto` for a repository that was pushed to, as receive-pack would run it, but after the
 * pusher has its answer. It packs only when loose objects pile up, and git's own gc lock keeps two
 * from running at once; what it prints goes nowhere, and a failure only leaves the repo unpacked.
 */
function tidy(dir: string, env: Record<string, string>): void {
  const gc = spawn('git', ['gc', '--auto', '--quiet'], apart({ cwd: dir, env, stdio: 'ignore', timeout: GC_TIMEOUT_MS }));
  gc.on('error', () => undefined);
}

interface ServiceRun {
  service: string;
  app: AppRow;
  actor: string;
  /** The request body, paused after `head`, its first bytes; `ended` when that was all of it. */
  body: Readable;
  head: Buffer;
  ended: boolean;
  res: Response;
}

/** Runs upload-pack, or receive-pack under the app's lock with our hook, on the request body. */
function runService({ service, app, actor, body, head, ended, res }: ServiceRun, deps: Deps): void {
  const repo = repoDir(deps.paths, app.name);
  let push: Push | undefined;
  let refusal: string | undefined;
  let unlock: (() => void) | undefined;
  if (service === 'git-receive-pack') {
    // Shutdown may have begun while the request body was read: such a push is refused like a new one.
    unlock = deps.lifecycle.draining ? undefined : deps.locks.tryAcquire(app.name);
    if (deps.lifecycle.draining) refusal = SHUTTING_DOWN;
    else if (!unlock) refusal = busyRefusal(app.name, deps.locks.holder(app.name));
    else push = { app, actor, cancel: new AbortController() };
  }
  const cmd = service.slice('git-'.length);
  // git's own cap on the pack (PAAS_MAX_PUSH_SIZE): a bigger one is refused while it arrives, the
  // pusher reads why in git's own words, and the quarantine it was unpacked into is thrown away.
  // receive-pack's own `git gc --auto` (~35 ms even when it finds nothing to do) would hold the
  // pusher's git until it ends: paas runs it once the push has been answered instead (tidy).
  const args = ['-c', `core.hooksPath=${deps.paths.hooks}`, '-c', `receive.maxInputSize=${deps.config.limits.maxPushBytes}`, '-c', 'receive.autogc=false', cmd, '--stateless-rpc', repo];
  // git passes the extra pipes on to the hook, which hands the push over on them.
  // Apart from paas's process group (lib/run-apart.ts): a Ctrl-C to `npm start` must not kill the push
  // that shutdown lets finish, nor its hook.
  const child = spawn('git', args, apart({ env: deps.config.baseEnv, stdio: service === 'git-receive-pack' ? HOOK_STDIO : 'pipe' }));
  if (service === 'git-receive-pack') servePreReceive(child, { repo, push, refusal }, deps);
  let settled = false;
  // The lock is free before the response ends, so the pusher's next push never finds it still held.
  const settle = (ok: boolean): void => {
    if (settled) return;
    settled = true;
    void Promise.resolve(push?.deploying).then(() => {
      unlock?.();
      if (ok) res.end();
      else res.destroy();
      if (service === 'git-receive-pack') tidy(repo, deps.config.baseEnv);
    });
  };
  child.on('close', () => settle(true));
  child.on('error', (err) => {
    console.error('git failed to start:', err.message);
    settle(false);
  });
  body.on('error', () => child.kill());
  res.type(`application/x-${service}-result`);
  child.stdin.on('error', () => undefined);
  if (ended) child.stdin.end(head);
  else {
    child.stdin.write(head);
    body.pipe(child.stdin);
  }
  child.stdout.pipe(res, { end: false });
  res.on('close', () => {
    if (child.exitCode === null) {
      // The pusher went away: its hook may live on, but git will not move the branch.
      push?.cancel.abort(PUSH_CANCELLED);
      child.kill();
    }
  });
}

/** Why a push found the app's lock held, in words: what holds it, and what to do. */
function busyRefusal(app: string, holder = 'a deploy'): string {
  if (holder === 'a deploy') return `A deploy of ${app} is already in progress; this push was not applied. Push again once it finishes.`;
  return `${app} is busy with ${holder}; this push was not applied. Push again in a few seconds.`;
}
