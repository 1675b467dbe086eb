// Test helpers that run the real thing: the compiled `bin/paas` binary, the real `git` client and
// real HTTP over loopback. Whatever a helper starts or makes (a server, a child process, a temp
// dir) it registers for cleanup the moment it makes it (see cleanup.ts): it goes when the test, or
// for a beforeAll the file, ends, whether it passed or failed.
import { type ChildProcess, spawn, type SpawnOptions } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { onCleanup, removeTree } from './cleanup.js';

/** The package root, found from here whether this file runs from test/ (vitest) or dist/ (benchmarks). */
function findRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
}

export const ROOT = findRoot();
export const BIN = path.join(ROOT, 'bin', 'paas');

/** A new directory under the temp dir, removed (with all it holds) when the test or file ends. */
export function tempDir(prefix = 'paas-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  onCleanup(() => removeTree(dir));
  return dir;
}

/** Whether `child` has exited (its 'exit' event has fired or is about to). */
function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Resolves true once `child` exits, false if it has not within `ms`. Waits on the 'exit' event. */
async function exitsWithin(child: ChildProcess, ms: number): Promise<boolean> {
  if (hasExited(child)) return true;
  try {
    await once(child, 'exit', { signal: AbortSignal.timeout(ms) });
    return true;
  } catch {
    return hasExited(child);
  }
}

/**
 * Sends `child`'s process group SIGKILL, unless the group is gone. The kernel keeps a group's id
 * from being reused while any member lives, so this never reaches an unrelated process.
 */
function killGroup(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    // no member left
  }
}

/**
 * Spawns `cmd` in a process group of its own, which is SIGKILLed when the test ends, with whatever
 * it started (git's remote helper, a shell's children) still in it.
 */
export function spawnChild(cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
  const child = spawn(cmd, args, { ...opts, detached: true });
  if (child.pid !== undefined) onCleanup(() => killGroup(child));
  return child;
}

export interface Paas {
  apiUrl: string;
  /** '' and 0 for a server started with `noRouter` (its routers run apart, as `paas router`). */
  routerUrl: string;
  routerPort: number;
  /** The router's HTTPS listener (PAAS_ROUTER_TLS_PORT); '' and 0 as routerUrl. */
  routerTlsUrl: string;
  routerTlsPort: number;
  token: string;
  dataDir: string;
  home: string;
  proc: ChildProcess;
  output(): string;
  /** Env for CLI and git child processes talking to this server. */
  env: Record<string, string>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** How long a server gets to drain after SIGTERM (its dynos have PAAS_STOP_GRACE_MS) before SIGKILL. */
const STOP_TIMEOUT_MS = 20_000;

// The last resort, should the test process exit with a server still running (cleanups did not run).
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

/**
 * Starts `paas server` on ephemeral ports with a temp data dir; resolves once both listeners are up.
 * The server is stopped when the test (or, started in a beforeAll, the file) ends, pass or fail:
 * SIGTERM, so it stops its dynos, and SIGKILL if it has not exited within STOP_TIMEOUT_MS.
 * `inheritFd` is an open descriptor the server inherits as its fd 30 (as from `paas server 30<file`).
 * `noRouter` starts the control plane alone (`paas server --no-router`): only the API listener is awaited.
 * `outputLimit` keeps only about that many characters of the server's output (benchmarks that flood the log).
 */
export async function startPaas(extraEnv: Record<string, string> = {}, opts: { inheritFd?: number; noRouter?: boolean; outputLimit?: number; viaNpm?: boolean } = {}): Promise<Paas> {
  const dataDir = extraEnv.PAAS_DATA_DIR ?? tempDir('paas-data-');
  const home = tempDir('paas-home-');
  const token = extraEnv.PAAS_API_TOKEN ?? `test-token-${Math.random().toString(36).slice(2)}`;
  // The suite's temp dir (one per run, see test/global-setup.ts) reaches the server and its git.
  const tmp = { TMPDIR: os.tmpdir() };
  // `viaNpm`: as the README starts it, `npm start` in a process group of its own (a terminal's
  // foreground group): `proc` is npm, and the server its child.
  const [cmd, args] = opts.viaNpm ? ['npm', ['start', '--silent', ...(opts.noRouter ? ['--', '--no-router'] : [])]] : [process.execPath, [BIN, 'server', ...(opts.noRouter ? ['--no-router'] : [])]];
  const proc = spawn(cmd, args, {
    cwd: ROOT,
    detached: opts.viaNpm,
    env: {
      PATH: process.env.PATH!,
      HOME: home,
      ...tmp,
      PORT: '0',
      PAAS_ROUTER_PORT: '0',
      PAAS_ROUTER_TLS_PORT: '0',
      PAAS_BIND_HOST: '127.0.0.1',
      PAAS_DATA_DIR: dataDir,
      PAAS_API_TOKEN: token,
      PAAS_STOP_GRACE_MS: '3000',
      // Short, so the many pushes of the suite do not each wait the default 3 s; settle tests set their own.
      PAAS_SETTLE_MS: '300',
      // Every suite names its runtime: an engine that answers must not move a suite onto Docker.
      PAAS_RUNTIME: 'process',
      // npm keeps a compile cache in TMPDIR, which the suite's leftover check would find.
      ...(opts.viaNpm ? { NODE_DISABLE_COMPILE_CACHE: '1' } : {}),
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe', ...(opts.inheritFd === undefined ? [] : [...Array<'ignore'>(27).fill('ignore'), opts.inheritFd])],
  });
  running.add(proc);
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => (running.delete(proc), resolve(code))));
  let out = '';
  async function shutdown(): Promise<void> {
    // Under npm, whatever of its group outlived it (nothing should) goes too.
    await stopServer().finally(() => opts.viaNpm && killGroup(proc));
  }
  async function stopServer(): Promise<void> {
    if (hasExited(proc)) return;
    proc.kill('SIGTERM');
    if (await exitsWithin(proc, STOP_TIMEOUT_MS)) return;
    proc.kill('SIGKILL');
    await exited;
    throw new Error(`paas server did not exit within ${STOP_TIMEOUT_MS / 1000} s of SIGTERM, and was killed:\n${out.slice(-4000)}`);
  }
  onCleanup(shutdown);

  // A benchmark that floods the log keeps only the end of the server's output (`outputLimit` chars).
  const limit = opts.outputLimit ?? Infinity;
  const collect = (d: Buffer) => {
    out += d;
    if (out.length > limit) out = out.slice(-Math.floor(limit / 2));
  };
  proc.stdout!.on('data', collect);
  proc.stderr!.on('data', collect);
  // Waits on the server's own words: both listeners print where they listen once they do.
  const started = await new Promise<{ apiUrl: string; routerUrl: string; routerTlsUrl: string }>((resolve, reject) => {
    const check = () => {
      const api = /API and git listening on (\S+)/.exec(out);
      const router = opts.noRouter ? ['', ''] : /router listening on (http:\/\/\S+)/.exec(out);
      const tls = opts.noRouter ? ['', ''] : /router listening on (https:\/\/\S+).*\(TLS\)/.exec(out);
      if (!api || !router || !tls) return;
      proc.stdout!.off('data', check);
      proc.stderr!.off('data', check);
      resolve({ apiUrl: api[1], routerUrl: router[1], routerTlsUrl: tls[1] });
    };
    proc.stdout!.on('data', check);
    proc.stderr!.on('data', check);
    // 'close', not 'exit': by then all it printed has arrived, the reason it gave up included.
    proc.on('close', (code) => reject(new Error(`paas server exited with ${code} before listening:\n${out}`)));
  });
  const env = {
    PATH: process.env.PATH!,
    HOME: home,
    ...tmp,
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
    routerPort: started.routerUrl ? Number(new URL(started.routerUrl).port) : 0,
    routerTlsPort: started.routerTlsUrl ? Number(new URL(started.routerTlsUrl).port) : 0,
    token,
    dataDir,
    home,
    proc,
    env,
    output: () => out,
    async stop(signal = 'SIGTERM') {
      if (hasExited(proc)) return proc.exitCode;
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

/**
 * Runs a command without a shell and never throws on a non-zero exit. Should the test end first,
 * the command and all it started are SIGKILLed (it runs in a process group of its own).
 */
export function sh(cmd: string, args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawnChild(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) => resolve({ code: 1, stdout, stderr: stderr || err.message }));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
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

/** Starts a push in the background: its output so far, and git's result when it ends. */
export function pushInBackground(paas: Paas, dir: string, app: string): { done: Promise<{ code: number | null; output: string }>; output: () => string } {
  let output = '';
  const child = spawnChild('git', ['push', gitUrl(paas, app), 'main'], { cwd: dir, env: paas.env });
  child.stderr!.on('data', (d) => (output += d));
  const done = new Promise<{ code: number | null; output: string }>((resolve) => child.on('close', (code) => resolve({ code, output })));
  return { done, output: () => output };
}

export interface HttpResult {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

/** Sends `req` and collects its response's body as text; rejects on an error or after 10 s. */
export function collect(req: http.ClientRequest, resolve: (r: HttpResult) => void, reject: (err: Error) => void): void {
  req.on('response', (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (d) => (body += d));
    res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers }));
  });
  req.on('error', reject);
  req.setTimeout(10_000, () => req.destroy(new Error('router request timed out')));
  req.end();
}

/** A request (GET unless told) through the router with the app's Host header, as a browser at http://<app>.localhost would make. */
export function viaRouter(paas: Paas, host: string, urlPath = '/', method = 'GET'): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    collect(http.request({ host: '127.0.0.1', port: paas.routerPort, path: urlPath, method, headers: { host }, agent: false }), resolve, reject);
  });
}

/**
 * A GET through the router's HTTPS port, as a browser at https://<host> would make it: SNI and Host
 * both `host`, the certificate checked against `ca` (PEM) and `host`.
 */
export function viaRouterTls(paas: Paas, host: string, urlPath = '/', opts: { ca: string | string[] }): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    collect(https.request({ host: '127.0.0.1', port: paas.routerTlsPort, servername: host, path: urlPath, headers: { host }, ca: opts.ca, agent: false }), resolve, reject);
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
