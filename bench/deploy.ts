// bench:deploy — on the docker runtime, from `git push` to the first 200 from the new code, for a cold
// push, a code-only push and a no-change redeploy of one small Node app with an npm dependency, each
// next to the floor done by hand in the same run: `docker build` of an equivalent hand-written
// Dockerfile (same stack base, dependency layer first), `docker run` with a port on 127.0.0.1, and
// the first 200 from it. Goal (issue 11): a code-only push within 1.3× its floor.
// Loopback only; every wait bounded. Rounds: BENCH_ROUNDS (default 3).
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connectDocker, instanceId } from '../server/docker/engine.js';
import { removeInstance, withLockfile } from '../test/helpers/docker.js';
import { commitFiles, createApp, gitRepo, type Paas, push, sh, startPaas, tempDir, viaRouter } from '../test/helpers/paas.js';

const ROUNDS = Math.max(1, Math.min(10, Number(process.env.BENCH_ROUNDS) || 3));
const LIMIT_MS = 180_000;
const STACK = process.env.PAAS_STACK_IMAGE || 'paas/stack:bookworm';
const CA = process.env.PAAS_BUILD_CA_FILE || process.env.NODE_EXTRA_CA_CERTS || process.env.SSL_CERT_FILE;

const server = (marker: string) =>
  `const isNumber = require('is-number');\nrequire('http').createServer((q, s) => s.end(${JSON.stringify(marker)} + (process.env.PAAS_RELEASE_VERSION || '-') + isNumber(1))).listen(process.env.PORT, '0.0.0.0');\nprocess.on('SIGTERM', () => process.exit(0));\n`;

/** package.json and its lockfile; `name` makes the dependency layer new to Docker's cache (a cold push). */
function manifest(name: string): Promise<Record<string, string>> {
  return withLockfile({ name, version: '1.0.0', dependencies: { 'is-number': '7.0.0' }, scripts: { start: 'node server.js' } });
}

/** Polls `get` until it answers 200 with `marker` in the body; returns ms since `t0`. */
async function firstOk(t0: number, marker: string, get: () => Promise<{ status: number; body: string }>): Promise<number> {
  for (;;) {
    if (performance.now() - t0 > LIMIT_MS) throw new Error(`no 200 with ${marker} within ${LIMIT_MS} ms`);
    const res = await get().catch(() => undefined);
    if (res?.status === 200 && res.body.startsWith(marker)) return performance.now() - t0;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** `marker` names the code and `release` the release that must answer (a no-change redeploy has the same code). */
async function viaPaas(paas: Paas, dir: string, app: string, marker: string, release: string): Promise<number> {
  const t0 = performance.now();
  // The new code answers once the routes switch, before the push ends (it still waits out the
  // settle window): watch the router while git pushes.
  const [r, ms] = await Promise.all([push(paas, dir, app), firstOk(t0, `${marker}${release}`, () => viaRouter(paas, `${app}.localhost`))]);
  if (r.code !== 0) throw new Error(`push failed:\n${r.stderr}`);
  return ms;
}

/** The floor: what a person would do by hand with the same base and the dependency layer first. */
async function byHand(dir: string, tag: string, marker: string): Promise<number> {
  const t0 = performance.now();
  const built = await sh('docker', ['build', '-q', '-t', tag, '--label', 'paas.managed=true', '--label', 'paas.app=bench-floor', dir]);
  if (built.code !== 0) throw new Error(`docker build failed:\n${built.stderr}`);
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const run = await sh('docker', ['run', '-d', '--rm', '--init', '--label', 'paas.managed=true', '--label', 'paas.app=bench-floor', '-e', `PORT=${port}`, '-p', `127.0.0.1:${port}:${port}`, tag]);
  if (run.code !== 0) throw new Error(`docker run failed:\n${run.stderr}`);
  try {
    return await firstOk(t0, `${marker}-`, async () => {
      const res = await fetch(`http://127.0.0.1:${port}/`);
      return { status: res.status, body: await res.text() };
    });
  } finally {
    await sh('docker', ['rm', '-f', run.stdout.trim()]);
  }
}

function floorDir(files: Record<string, string>): string {
  const dir = tempDir('paas-bench-floor-');
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  if (CA) fs.copyFileSync(CA, path.join(dir, 'ca.crt'));
  const trust = CA ? 'COPY ca.crt /tmp/ca.crt\nENV NODE_EXTRA_CA_CERTS=/tmp/ca.crt\n' : '';
  fs.writeFileSync(path.join(dir, 'Dockerfile'), `FROM ${STACK}\nWORKDIR /app\n${trust}COPY package.json package-lock.json ./\nRUN npm ci --omit=dev\nCOPY server.js .\nCMD ["node", "server.js"]\n`);
  return dir;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const docker = await connectDocker();
  const paas = await startPaas({ PAAS_RUNTIME: 'docker', PAAS_STACK_IMAGE: STACK, PAAS_SETTLE_MS: '300', ...(CA ? { PAAS_BUILD_CA_FILE: CA } : {}) });
  const rows: Record<'cold' | 'code' | 'same', { paas: number[]; floor: number[] }> = { cold: { paas: [], floor: [] }, code: { paas: [], floor: [] }, same: { paas: [], floor: [] } };
  try {
    for (let i = 0; i < ROUNDS; i++) {
      const id = randomBytes(4).toString('hex');
      const app = `bench-deploy-${id}`;
      const deps = await manifest(app);
      await createApp(paas, app);
      const dir = await gitRepo(paas, { ...deps, 'server.js': server('v1:') });
      const floor = floorDir({ ...deps, 'server.js': server('v1:') });
      const tag = `paas-bench/floor:${id}`;
      // Side by side, alternating, so neither gets a quieter machine.
      rows.cold.paas.push(await viaPaas(paas, dir, app, 'v1:', 'v1'));
      rows.cold.floor.push(await byHand(floor, tag, 'v1:'));
      await commitFiles(paas, dir, { 'server.js': server('v2:') });
      fs.writeFileSync(path.join(floor, 'server.js'), server('v2:'));
      rows.code.paas.push(await viaPaas(paas, dir, app, 'v2:', 'v2'));
      rows.code.floor.push(await byHand(floor, tag, 'v2:'));
      const empty = await sh('git', ['commit', '-q', '--allow-empty', '-m', 'redeploy'], { cwd: dir, env: paas.env });
      if (empty.code !== 0) throw new Error(empty.stderr);
      rows.same.paas.push(await viaPaas(paas, dir, app, 'v2:', 'v3'));
      rows.same.floor.push(await byHand(floor, tag, 'v2:'));
      await sh('docker', ['rmi', '-f', tag]);
    }
  } finally {
    await paas.stop();
    await removeInstance(docker, instanceId(paas.dataDir));
    // The floor's images, the untagged ones its rebuilds left included.
    for (const img of await docker.listImages({ filters: { label: ['paas.managed=true', 'paas.app=bench-floor'] } })) await docker.getImage(img.Id).remove({ force: true }).catch(() => undefined);
  }
  console.log(`bench:deploy: ${ROUNDS} rounds, ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}, stack ${STACK}, ${new Date().toISOString()}`);
  console.log('| push, to the first 200 from the new code | paas (median) | by hand: docker build + run (median) | ratio |');
  console.log('| --- | ---: | ---: | ---: |');
  const names = { cold: 'cold push (new dependency layer)', code: 'code-only push', same: 'no-change redeploy (empty commit)' };
  for (const [key, label] of Object.entries(names) as [keyof typeof rows, string][]) {
    const p = median(rows[key].paas);
    const f = median(rows[key].floor);
    console.log(`| ${label} | ${(p / 1000).toFixed(2)} s | ${(f / 1000).toFixed(2)} s | ${(p / f).toFixed(2)}× |`);
  }
  const ratio = median(rows.code.paas) / median(rows.code.floor);
  console.log(`goal: a code-only push within 1.3× the floor: ${ratio.toFixed(2)}× ${ratio <= 1.3 ? 'met' : 'missed'}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
