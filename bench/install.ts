// bench:install — on the process runtime, where a code-only push's time goes, and what skipping an
// unchanged dependency install saves: for a no-dependency app (no lockfile) and an express app (with
// a lockfile), each round pushes a code-only change (the install is skipped) and a change of an
// install input (package.json's version: the install runs, same code), side by side. Each push is
// timed from `git push` to: the first build line, the end of the dependency step (the line after
// it), the release line, and git's return. Loopback only; every wait bounded. Rounds: BENCH_ROUNDS (5).
import os from 'node:os';
import { withLockfile } from '../test/helpers/docker.js';
import { commitFiles, createApp, gitRepo, gitUrl, type Paas, spawnChild, startPaas } from '../test/helpers/paas.js';

const ROUNDS = Math.max(1, Math.min(20, Number(process.env.BENCH_ROUNDS) || 5));
const LIMIT_MS = 180_000;
const CA = process.env.PAAS_BUILD_CA_FILE || process.env.NODE_EXTRA_CA_CERTS || process.env.SSL_CERT_FILE;

/** When (ms after git push started) each of a push's milestones showed in its output. */
interface Timed {
  firstLine: number;
  depsDone: number;
  released: number;
  returned: number;
  skipped: boolean;
}

/** Runs git push and timestamps its remote output, line by line. */
function timedPush(paas: Paas, dir: string, app: string): Promise<Timed> {
  const t0 = performance.now();
  const lines: { at: number; text: string }[] = [];
  return new Promise((resolve, reject) => {
    const child = spawnChild('git', ['push', gitUrl(paas, app), 'main'], { cwd: dir, env: paas.env });
    const timer = setTimeout(() => child.kill('SIGKILL'), LIMIT_MS);
    let rest = '';
    child.stderr!.on('data', (d: Buffer) => {
      const parts = (rest + d.toString()).split(/\r?\n|\r/);
      rest = parts.pop()!;
      for (const text of parts) lines.push({ at: performance.now() - t0, text });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const returned = performance.now() - t0;
      const all = lines.map((l) => l.text).join('\n');
      if (code !== 0) return reject(new Error(`push of ${app} failed:\n${all}`));
      const at = (re: RegExp) => lines.find((l) => re.test(l.text))?.at ?? NaN;
      const first = lines.findIndex((l) => /remote: -----> /.test(l.text));
      // The dependency step ends where the next heading after it begins.
      const deps = lines.findIndex((l) => /Dependencies unchanged|Lockfile unchanged|Installing dependencies with/.test(l.text));
      const after = lines.slice(deps + 1).find((l) => /remote: -----> /.test(l.text) && !/^remote: -----> Installing dependencies/.test(l.text));
      resolve({ firstLine: lines[first]?.at ?? NaN, depsDone: after?.at ?? NaN, released: at(/Released v\d+/), returned, skipped: /Dependencies unchanged|Lockfile unchanged/.test(all) });
    });
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

const server = (marker: string, express: boolean) =>
  express
    ? `const app = require('express')();\napp.get('/', (q, r) => r.send(${JSON.stringify(marker)}));\napp.listen(process.env.PORT);\n`
    : `require('http').createServer((q, r) => r.end(${JSON.stringify(marker)})).listen(process.env.PORT);\n`;

async function main(): Promise<void> {
  const paas = await startPaas({ PAAS_BOOT_TIMEOUT_MS: '20000', ...(CA ? { PAAS_BUILD_CA_FILE: CA } : {}) });
  const shapes = { 'no-dependency app (no lockfile)': false, 'express app (package-lock.json)': true };
  const rows: { label: string; code: Timed[]; input: Timed[] }[] = [];
  try {
    for (const [label, express] of Object.entries(shapes)) {
      const app = express ? 'bench-install-express' : 'bench-install-bare';
      const pkg = (version: string) => ({ name: app, version, scripts: { start: 'node server.js' }, ...(express ? { dependencies: { express: '4.21.2' } } : {}) });
      const manifest = async (version: string) => (express ? withLockfile(pkg(version)) : { 'package.json': JSON.stringify(pkg(version), null, 2) });
      await createApp(paas, app);
      const dir = await gitRepo(paas, { ...(await manifest('1.0.0')), 'server.js': server('v0', express) });
      await timedPush(paas, dir, app);
      const row = { label, code: [] as Timed[], input: [] as Timed[] };
      for (let i = 1; i <= ROUNDS; i++) {
        // Alternating, so neither gets a quieter machine.
        await commitFiles(paas, dir, { 'server.js': server(`code ${i}`, express) });
        row.code.push(await timedPush(paas, dir, app));
        await commitFiles(paas, dir, await manifest(`1.0.${i}`));
        row.input.push(await timedPush(paas, dir, app));
      }
      if (row.code.some((t) => !t.skipped) || row.input.some((t) => t.skipped)) console.warn(`${label}: a code-only push installed, or a changed input did not (this build predates the skip?)`);
      rows.push(row);
    }
  } finally {
    await paas.stop();
  }
  console.log(`bench:install: ${ROUNDS} rounds, ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}, ${new Date().toISOString()}`);
  console.log('| app, push (medians, from `git push`) | first build line | dependency step done | Released | push returned |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const row of rows) {
    for (const [kind, ts] of [['code-only (install skipped)', row.code], ['package.json version changed (install runs)', row.input]] as const) {
      const m = (k: keyof Omit<Timed, 'skipped'>) => s(median(ts.map((t) => t[k])));
      console.log(`| ${row.label}, ${kind} | ${m('firstLine')} | ${m('depsDone')} | ${m('released')} | ${m('returned')} |`);
    }
    const saved = median(row.input.map((t) => t.released)) / median(row.code.map((t) => t.released));
    console.log(`| ${row.label}: install runs / skipped, to Released | | | ${saved.toFixed(2)}× | |`);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
