// Test helpers that run the real thing: the compiled `bin/paas` binary, the real `git` client and
// real HTTP over loopback. Every process started here is killed when the test file ends.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** The package root, found from here whether this file runs from test/ (vitest) or dist/ (benchmarks). */
function findRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
}

export const ROOT = findRoot();
export const BIN = path.join(ROOT, 'bin', 'paas');
const run = promisify(execFile);

export function tempDir(prefix = 'paas-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface Paas {
  apiUrl: string;
  routerUrl: string;
  routerPort: number;
  token: string;
  dataDir: string;
  home: string;
  proc: ChildProcess;
  output(): string;
  /** Env for CLI and git child processes talking to this server. */
  env: Record<string, string>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

/**
 * Starts `paas server` on ephemeral ports with a temp data dir; resolves once both listeners are up.
 * `inheritFd` is an open descriptor the server inherits as its fd 30 (as from `paas server 30<file`).
 */
export async function startPaas(extraEnv: Record<string, string> = {}, opts: { inheritFd?: number } = {}): Promise<Paas> {
  const dataDir = extraEnv.PAAS_DATA_DIR ?? tempDir('paas-data-');
  const home = tempDir('paas-home-');
  const token = extraEnv.PAAS_API_TOKEN ?? `test-token-${Math.random().toString(36).slice(2)}`;
  const proc = spawn(process.execPath, [BIN, 'server'], {
    env: {
      PATH: process.env.PATH!,
      HOME: home,
      PORT: '0',
      PAAS_ROUTER_PORT: '0',
      PAAS_BIND_HOST: '127.0.0.1',
      PAAS_DATA_DIR: dataDir,
      PAAS_API_TOKEN: token,
      PAAS_STOP_GRACE_MS: '3000',
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe', ...(opts.inheritFd === undefined ? [] : [...Array<'ignore'>(27).fill('ignore'), opts.inheritFd])],
  });
  running.add(proc);
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => (running.delete(proc), resolve(code))));
  const started = await Promise.race([
    (async () => {
      for (;;) {
        const api = /API and git listening on (\S+)/.exec(out);
        const router = /router listening on (\S+)/.exec(out);
        if (api && router) return { apiUrl: api[1], routerUrl: router[1] };
        await new Promise((r) => setTimeout(r, 20));
      }
    })(),
    exited.then((code) => {
      throw new Error(`paas server exited with ${code} before listening:\n${out}`);
    }),
  ]);
  const env = {
    PATH: process.env.PATH!,
    HOME: home,
    PAAS_API_URL: started.apiUrl,
    PAAS_API_TOKEN: token,
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'Test',
    GIT_AUTHOR_EMAIL: 'test@example.com',
    GIT_COMMITTER_NAME: 'Test',
    GIT_COMMITTER_EMAIL: 'test@example.com',
  };
  return {
    ...started,
    routerPort: Number(new URL(started.routerUrl).port),
    token,
    dataDir,
    home,
    proc,
    env,
    output: () => out,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode !== null) return proc.exitCode;
      proc.kill(signal);
      return exited;
    },
  };
}

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command without a shell and never throws on a non-zero exit. */
export async function sh(cmd: string, args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<Result> {
  try {
    const { stdout, stderr } = await run(cmd, args, { cwd: opts.cwd, env: opts.env, maxBuffer: 32 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** Runs the real CLI binary against `paas`. */
export function cli(paas: Paas, args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<Result> {
  return sh(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? paas.home, env: { ...paas.env, ...opts.env } });
}

/** A git checkout with `files` committed on main. */
export async function gitRepo(paas: Paas, files: Record<string, string>): Promise<string> {
  const dir = tempDir('paas-app-');
  await sh('git', ['init', '-q', '-b', 'main'], { cwd: dir, env: paas.env });
  await commitFiles(paas, dir, files, 'initial');
  return dir;
}

export async function commitFiles(paas: Paas, dir: string, files: Record<string, string>, message = 'change'): Promise<void> {
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  await sh('git', ['add', '-A'], { cwd: dir, env: paas.env });
  const r = await sh('git', ['commit', '-q', '-m', message], { cwd: dir, env: paas.env });
  if (r.code !== 0) throw new Error(`git commit failed: ${r.stderr}`);
}

/** The push URL with the token as the basic-auth password (what `paas login` + ~/.netrc gives git). */
export function gitUrl(paas: Paas, app: string): string {
  const u = new URL(paas.apiUrl);
  u.username = 'paas';
  u.password = paas.token;
  u.pathname = `/${app}.git`;
  return u.toString();
}

export function push(paas: Paas, dir: string, app: string, refspec = 'main'): Promise<Result> {
  return sh('git', ['push', gitUrl(paas, app), refspec], { cwd: dir, env: paas.env });
}

export interface HttpResult {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

/** GET through the router with the app's Host header, as a browser at http://<app>.localhost would. */
export function viaRouter(paas: Paas, host: string, urlPath = '/'): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: paas.routerPort, path: urlPath, headers: { host }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('router request timed out')));
  });
}

/** Creates an app through the API; throws, with the API's answer, unless it was created (201). */
export async function createApp(paas: Paas, name: string): Promise<void> {
  const r = await apiCall(paas, 'POST', '/v1/apps', { name });
  if (r.status !== 201) throw new Error(`creating ${name} answered ${r.status}: ${JSON.stringify(r.json)}`);
}

/** Calls the API directly. */
export async function apiCall(paas: Paas, method: string, urlPath: string, body?: unknown, token = paas.token) {
  const res = await fetch(`${paas.apiUrl}${urlPath}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}
