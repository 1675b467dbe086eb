import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import express, { type Response } from 'express';
import { requireApp } from '../apps.js';
import { tokenFromRequest, tokenMatches, userFromRequest } from '../api/auth.js';
import type { Deps } from '../deps.js';
import { PaasError } from '../errors.js';
import { repoDir } from '../paths.js';
import { hookEndpoint } from './hook-endpoint.js';
import { Pushes } from './pushes.js';

const SERVICES = new Set(['git-receive-pack', 'git-upload-pack']);
const GIT_PATH = /^\/([a-z][a-z0-9-]{1,29})\.git\/(info\/refs|git-receive-pack|git-upload-pack)$/;

const HOOK_SCRIPT = `#!/bin/sh
# Written by paas at start-up. Runs the pre-receive hook of the paas server that spawned this git.
exec "$PAAS_HOOK_NODE" "$PAAS_HOOK_SCRIPT"
`;

/** Writes the hooks directory every receive-pack runs with (core.hooksPath). */
export function installHooks(hooksDir: string): void {
  fs.mkdirSync(hooksDir, { recursive: true });
  fs.writeFileSync(`${hooksDir}/pre-receive`, HOOK_SCRIPT, { mode: 0o755 });
}

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

/**
 * Git smart HTTP (the stateless-rpc protocol that `git http-backend` speaks) for /<app>.git.
 * Pushes run our pre-receive hook, which calls back to deploy; fetches and clones are served too.
 */
export function gitRoutes(deps: Deps, opts: { internalUrl: () => string }): express.Router {
  const pushes = new Pushes();
  const hookScript = fileURLToPath(new URL('./pre-receive.js', import.meta.url));
  const r = express.Router();

  r.post('/internal/pushes/:id/deploy', hookEndpoint(deps, pushes));

  r.use((req, res, next) => {
    const m = GIT_PATH.exec(req.path);
    if (!m) return next();
    const [, name, action] = m as unknown as [string, string, string];
    if (!tokenMatches(tokenFromRequest(req), deps.config.apiToken!)) {
      return gitError(res, 401, 'Invalid credentials: use the paas API token as the password (run `paas login`).');
    }
    const service = action === 'info/refs' ? String(req.query.service ?? '') : action;
    if (!SERVICES.has(service)) return gitError(res, 403, 'Only smart HTTP git clients are supported (git 1.6.6 or newer).');
    let app;
    try {
      app = requireApp(deps, name);
    } catch (err) {
      if (!(err instanceof PaasError) || action !== 'info/refs') throw err;
      // An ERR packet is how git shows a server's message: "fatal: remote error: …".
      const msg = `App ${name} does not exist. Create it first with \`paas apps:create ${name}\`.`;
      res.type(`application/x-${service}-advertisement`).send(`${pktLine(`# service=${service}\n`)}0000${pktLine(`ERR ${msg}`)}`);
      return;
    }
    const dir = repoDir(deps.paths, app.name);
    const cmd = service.slice('git-'.length);
    res.set('cache-control', 'no-cache');

    if (action === 'info/refs') {
      const child = spawn('git', [cmd, '--stateless-rpc', '--advertise-refs', dir], { env: deps.config.baseEnv });
      child.on('error', (err) => failed(res, err));
      res.type(`application/x-${service}-advertisement`);
      res.write(`${pktLine(`# service=${service}\n`)}0000`);
      child.stdout.pipe(res);
      return;
    }

    const env: Record<string, string> = { ...deps.config.baseEnv };
    let done = (): void => undefined;
    if (service === 'git-receive-pack') {
      const push = pushes.open(app, userFromRequest(req) || 'git');
      const unlock = deps.locks.tryAcquire(app.name);
      Object.assign(env, {
        PAAS_HOOK_NODE: process.execPath,
        PAAS_HOOK_SCRIPT: hookScript,
        PAAS_HOOK_URL: `${opts.internalUrl()}/internal/pushes/${push.id}/deploy`,
        PAAS_HOOK_SECRET: push.secret,
      });
      if (!unlock) env.PAAS_PUSH_REFUSED = `A deploy of ${app.name} is already in progress; this push was not applied. Push again once it finishes.`;
      done = () => {
        void Promise.resolve(push.deploying).then(() => {
          pushes.close(push);
          unlock?.();
        });
      };
    }
    const args = ['-c', `core.hooksPath=${deps.paths.hooks}`, cmd, '--stateless-rpc', dir];
    const child = spawn('git', args, { env });
    child.on('close', done);
    child.on('error', (err) => failed(res, err));
    res.type(`application/x-${service}-result`);
    let body: NodeJS.ReadableStream = req;
    if (req.headers['content-encoding'] === 'gzip') {
      // A corrupt gzip body ends this request, never the server.
      body = req.pipe(zlib.createGunzip().on('error', () => child.kill()));
    }
    body.pipe(child.stdin);
    child.stdin.on('error', () => undefined);
    child.stdout.pipe(res);
    res.on('close', () => {
      if (child.exitCode === null) child.kill();
    });
  });
  return r;
}
