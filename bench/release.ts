// bench:release — how long `paas releases:rollback` takes to get the rolled-back code answering,
// next to a fresh `git push` of the same code, measured side by side in one run on the process
// runtime. Two apps: one with no dependencies (the floor of a push) and one depending on express
// (a typical small Node app; its lockfile is resolved from the npm registry once per run).
// All traffic goes to 127.0.0.1; every loop is bounded. Rounds: BENCH_ROUNDS (default 5).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { envApp } from '../test/helpers/fixtures.js';
import { apiCall, BIN, commitFiles, gitRepo, gitUrl, type Paas, sh, startPaas, tempDir, viaRouter } from '../test/helpers/paas.js';

const ROUNDS = Math.max(1, Math.min(50, Number(process.env.BENCH_ROUNDS) || 5));
const DEADLINE_MS = 300_000;

type Files = Record<string, string>;
type Stats = { median: number; min: number; max: number };

function run(cmd: string, args: string[], cwd: string, env: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, env, stdio: 'ignore' });
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

/** Wall time from starting the command until the router first answers with `marker`. */
async function timeUntilServed(paas: Paas, app: string, marker: string, start: () => Promise<number>): Promise<number> {
  const t0 = performance.now();
  let exit: number | undefined;
  const done = start().then((code) => (exit = code));
  while (performance.now() - t0 < DEADLINE_MS) {
    const res = await viaRouter(paas, `${app}.localhost`).catch(() => undefined);
    if (res?.status === 200 && JSON.parse(res.body).message === marker) {
      const served = performance.now() - t0;
      // The command still holds the app's deploy lock through the settle window: the next push or
      // rollback of this app would be refused until it exits.
      if ((await done) !== 0) throw new Error(`command failed (exit ${exit}) after ${app} served ${marker}`);
      return served;
    }
    if (exit !== undefined && exit !== 0) throw new Error(`command failed (exit ${exit}) while timing ${app}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${app} never served ${marker} within ${DEADLINE_MS} ms`);
}

function stats(xs: number[]): Stats {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], min: s[0], max: s[s.length - 1] };
}

/** The env app with `express` as a dependency and a lockfile resolved for it. */
async function expressApp(message: string): Promise<Files> {
  const dir = tempDir('paas-bench-lock-');
  const pkg = { name: 'env-app', version: '1.0.0', dependencies: { express: '^5.1.0' } };
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(pkg));
  const r = await sh('npm', ['install', '--package-lock-only', '--no-audit', '--no-fund'], { cwd: dir, env: process.env as Record<string, string> });
  if (r.code !== 0) throw new Error(`could not resolve express from the npm registry: ${r.stderr}`);
  return { ...envApp(message), 'package.json': JSON.stringify(pkg), 'package-lock.json': fs.readFileSync(path.join(dir, 'package-lock.json'), 'utf8') };
}

async function benchApp(paas: Paas, kind: string, make: (message: string) => Promise<Files> | Files) {
  const env = paas.env;
  const pushTo = (app: string, dir: string) => () => run('git', ['push', '-q', gitUrl(paas, app), 'main'], dir, env);
  // The app that is rolled back and forth: v1 serves code A, v2 serves code B.
  const rollApp = `${kind}-roll`;
  await apiCall(paas, 'POST', '/v1/apps', { name: rollApp });
  const rollDir = await gitRepo(paas, await make('code A'));
  await timeUntilServed(paas, rollApp, 'code A', pushTo(rollApp, rollDir));
  await commitFiles(paas, rollDir, await make('code B'));
  await timeUntilServed(paas, rollApp, 'code B', pushTo(rollApp, rollDir));

  const fresh: number[] = [];
  const rollbacks: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    // A fresh push: a new app (so a cold dependency cache) with the same code A.
    const app = `${kind}-fresh-${i}`;
    await apiCall(paas, 'POST', '/v1/apps', { name: app });
    const dir = await gitRepo(paas, await make('code A'));
    fresh.push(await timeUntilServed(paas, app, 'code A', pushTo(app, dir)));
    // A rollback to whichever of A (v1) and B (v2) is not live: no build, the slug is reused.
    const [target, marker] = i % 2 === 0 ? ['v1', 'code A'] : ['v2', 'code B'];
    const cmd = () => run(process.execPath, [BIN, 'releases:rollback', target, '-a', rollApp], paas.home, env);
    rollbacks.push(await timeUntilServed(paas, rollApp, marker, cmd));
  }
  return { fresh: stats(fresh), rollback: stats(rollbacks) };
}

async function main(): Promise<void> {
  const paas = await startPaas();
  try {
    const rows: string[] = [];
    const ratios: string[] = [];
    for (const [kind, make] of [
      ['nodeps', (m: string) => envApp(m)],
      ['express', expressApp],
    ] as const) {
      const { fresh, rollback } = await benchApp(paas, kind, make);
      const fmt = (s: Stats) => `${s.median.toFixed(0)} | ${s.min.toFixed(0)} | ${s.max.toFixed(0)}`;
      rows.push(`| ${kind} | git push (fresh app) | ${fmt(fresh)} |`, `| ${kind} | paas releases:rollback | ${fmt(rollback)} |`);
      ratios.push(`${kind}: rollback / fresh push (medians) = ${(rollback.median / fresh.median).toFixed(2)}`);
    }
    console.log(`bench:release: ${ROUNDS} rounds, process runtime, ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}, ${new Date().toISOString()}`);
    console.log('| app | command, until the new code answers | median ms | min ms | max ms |');
    console.log('| --- | --- | ---: | ---: | ---: |');
    for (const r of rows) console.log(r);
    for (const r of ratios) console.log(r);
  } finally {
    await paas.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
