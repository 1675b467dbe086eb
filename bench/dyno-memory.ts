// bench:dyno-memory — what a Node dyno costs besides the app itself, for the two ways its start script
// can run, side by side in one run on the process runtime: the web command the Node buildpack made
// before (`npm start`, npm resident as the script's parent) and the one it makes now (the start script
// itself, run as npm would, without npm). The same hello-world slug, built by the real Node buildpack;
// each dyno's processes are read from /proc once it has answered a request: resident memory (VmRSS)
// of the app's node, of npm, of the shell, of the sandbox (bwrap), and the time from start() until it
// accepts a connection. As root with bubblewrap, as paas runs in production. Loopback only; bounded.
// Rounds: BENCH_ROUNDS (default 10), interleaved so both columns see the same machine load.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { nodeBuildpack } from '../builder/buildpacks/node.js';
import { ProcessRuntime } from '../server/runtime/process/runtime.js';
import { groupMembers } from '../server/sandbox/process-groups.js';
import type { RunningDyno } from '../server/runtime/types.js';
import { waitUntilUp } from '../server/runtime/wait-port.js';
import { detectSandbox, type SandboxHost } from '../server/sandbox/host.js';
import { tempDir } from '../test/helpers/paas.js';
import { rssKiB } from '../test/helpers/procs.js';

const ROUNDS = Math.max(1, Math.min(100, Number(process.env.BENCH_ROUNDS) || 10));
const USER = { uid: 399_991, gid: 399_991 };
const SERVER = "require('http').createServer((q, s) => s.end('ok')).listen(process.env.PORT);\n";
const PKG = { name: 'hello', version: '1.0.0', scripts: { start: 'node server.js' } };
const LOCK = { name: 'hello', version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': { name: 'hello', version: '1.0.0' } } };
const KINDS = ['app', 'npm', 'shell', 'sandbox', 'other'] as const;
type Kind = (typeof KINDS)[number];

/** The hello-world slug, compiled by the Node buildpack (no dependencies: its `npm ci` has nothing to do). */
async function slug(): Promise<{ dir: string; command: string; env: Record<string, string> }> {
  const dir = tempDir('paas-bench-slug-');
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(PKG));
  fs.writeFileSync(path.join(dir, 'package-lock.json'), JSON.stringify(LOCK));
  fs.writeFileSync(path.join(dir, 'server.js'), SERVER);
  const compiled = await nodeBuildpack.compile(dir, {
    appName: 'bench',
    buildId: 'bench',
    source: Readable.from([]),
    slugsDir: dir,
    cacheDir: tempDir('paas-bench-cache-'),
    steps: { run: async () => undefined, pathOf: () => '/app' },
    log: () => undefined,
  });
  for (const f of fs.readdirSync(dir)) fs.chownSync(path.join(dir, f), USER.uid, USER.gid);
  fs.chownSync(dir, USER.uid, USER.gid);
  return { dir, command: compiled.processTypes.web, env: compiled.env ?? {} };
}

function read(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function kindOf(pid: number, host: SandboxHost): Kind {
  const argv = read(`/proc/${pid}/cmdline`).split('\0');
  if (argv[0] === 'node' && argv[1] === 'server.js') return 'app';
  if (argv[0] === host.bwrap) return 'sandbox';
  // npm sets its process title, which overwrites its argv with one string: "npm start".
  if (/^npm( |$)/.test(argv[0])) return 'npm';
  if (/(^|\/)(ba)?sh$/.test(argv[0])) return 'shell';
  return 'other';
}

function get(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, agent: false }, (res) => res.resume().on('end', resolve)).on('error', reject);
  });
}

async function once(rt: ProcessRuntime, host: SandboxHost, dir: string, command: string, env: Record<string, string>): Promise<{ ms: number; kib: Record<Kind, number> }> {
  const t0 = performance.now();
  const dyno: RunningDyno = await rt.start({ app: 'bench', name: 'web.1', slugDir: dir, command, pathPrepend: ['node_modules/.bin'], user: USER, env: { ...env, DYNO: 'web.1' }, onLine: () => undefined });
  const up = await waitUntilUp(dyno, 20_000);
  const ms = performance.now() - t0;
  if (!up.ok) throw new Error(`the dyno running \`${command}\` did not start: ${JSON.stringify(up)}`);
  await get(dyno.port); // the app has served a request: what it holds from now on
  const kib = Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<Kind, number>;
  for (const pid of groupMembers(Number(dyno.handle))) kib[kindOf(pid, host)] += rssKiB(pid);
  await rt.stop(dyno, 2000);
  return { ms, kib };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mib = (kib: number) => (kib / 1024).toFixed(1);

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root: dynos run under their app uid, in bubblewrap, as paas runs them in production.');
  const host = detectSandbox();
  if (host.kind !== 'bwrap') throw new Error('bubblewrap is not usable here: install it (apt-get install bubblewrap).');
  const scratch = tempDir('paas-bench-scratch-');
  const rt = new ProcessRuntime({ sandbox: host, scratchRoot: scratch });
  const app = await slug();
  // What paas gives every dyno (server/config.ts): npm's update check would go to the network.
  const env = { LANG: 'C.UTF-8', npm_config_update_notifier: 'false', NODE_ENV: 'production', PAAS_APP_NAME: 'bench', ...app.env };
  const columns = [
    { label: '`npm start` (before)', command: 'npm start' },
    { label: 'the start script, run directly (now)', command: app.command },
  ].map((c) => ({ ...c, ms: [] as number[], kib: Object.fromEntries(KINDS.map((k) => [k, [] as number[]])) as Record<Kind, number[]>, besides: [] as number[], total: [] as number[] }));
  for (let i = 0; i < ROUNDS; i++) {
    for (const c of columns) {
      const r = await once(rt, host, app.dir, c.command, env);
      c.ms.push(r.ms);
      for (const k of KINDS) c.kib[k].push(r.kib[k]);
      c.besides.push(KINDS.filter((k) => k !== 'app').reduce((sum, k) => sum + r.kib[k], 0));
      c.total.push(KINDS.reduce((sum, k) => sum + r.kib[k], 0));
    }
  }
  console.log(`bench:dyno-memory: ${ROUNDS} rounds, as root (app uid, bubblewrap, overlay), ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}, ${new Date().toISOString()}`);
  console.log("| web command | app's node | npm | sh | sandbox (bwrap) | besides the app | whole dyno | start → listening, ms |");
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const c of columns) {
    const m = Object.fromEntries(KINDS.map((k) => [k, median(c.kib[k])])) as Record<Kind, number>;
    console.log(`| ${c.label} | ${mib(m.app)} | ${mib(m.npm)} | ${mib(m.shell)} | ${mib(m.sandbox)} | ${mib(median(c.besides))} | ${mib(median(c.total))} | ${median(c.ms).toFixed(0)} |`);
  }
  console.log(`web command now: \`${app.command}\``);
  const [before, now] = columns.map((c) => median(c.besides));
  console.log(`memory in MiB (VmRSS medians). Besides the app: ${mib(before)} MiB with npm start, ${mib(now)} MiB now (${(before / Math.max(now, 1)).toFixed(1)}x less); goal ≤ 4.8 MiB (5 MB)`);
  if (columns.some((c) => median(c.kib.other) > 0)) console.log('note: some processes were neither the app, npm, a shell nor bwrap (column "other" in the sums)');
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
