// bench:deploy (issue 23) — in one run, on each runtime (BENCH_RUNTIMES, default process,docker),
// the floor by hand next to paas's "command returned" and "new state first served" times for:
// a code-only push of a no-dependency app (no lockfile), a code-only push of an express app (with
// its lockfile), `paas releases:rollback` and `paas config:set`, with their ratios to the floor and
// issue 23's goals beside them. Medians of BENCH_ROUNDS (default 5). The server runs with its
// default settle window unless PAAS_SETTLE_MS is set. Loopback only; every wait is bounded
// (LIMIT_MS per operation). Docker is skipped, with the reason printed, when no engine answers or
// the stack image is missing.
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { connectDocker, probeDocker } from '../server/docker/engine.js';
import { STACK_IMAGE } from '../test/helpers/docker.js';
import { sh } from '../test/helpers/paas.js';
import { type AppKind, appFiles, type Files, serverFile } from './lib/deploy-apps.js';
import { dockerFloor, type Floor, processFloor } from './lib/deploy-floor.js';
import { type PaasApp, type Runtime, startRun } from './lib/deploy-paas.js';
import { emptyFigures, type Figures, heading, report } from './lib/deploy-report.js';

const ROUNDS = Math.max(1, Math.min(20, Number(process.env.BENCH_ROUNDS) || 5));
const CA = process.env.PAAS_BUILD_CA_FILE || process.env.NODE_EXTRA_CA_CERTS || process.env.SSL_CERT_FILE;

function runtimes(): Runtime[] {
  const names = (process.env.BENCH_RUNTIMES || 'process,docker').split(',').map((r) => r.trim()).filter(Boolean);
  for (const n of names) if (n !== 'process' && n !== 'docker') throw new Error(`BENCH_RUNTIMES names "${n}": use process, docker or both (process,docker).`);
  return [...new Set(names)] as Runtime[];
}

/** Why the docker runtime cannot be measured here, or undefined if it can. */
async function dockerUnavailable(): Promise<string | undefined> {
  const probe = await probeDocker(await connectDocker());
  if (!probe.ok) return `no Docker engine answered (${probe.reason}); start one or set DOCKER_HOST, or run with BENCH_RUNTIMES=process.`;
  const img = await sh('docker', ['image', 'inspect', '-f', '{{.Id}}', STACK_IMAGE]);
  if (img.code !== 0) return `the stack image ${STACK_IMAGE} is not on this engine; build it with \`npm run stack:build\` (or \`paas stack:build\`) first.`;
  return undefined;
}

/** Times one code-only change on the floor and on paas, in alternating order so neither gets the quieter machine. */
async function codeOnly(kind: AppKind, round: number, floor: Floor, app: PaasApp, f: Figures): Promise<void> {
  const code = `${kind}-${round}`;
  const change: Files = serverFile(kind, code);
  const onFloor = async () => f.floor[kind].push(await floor.deploy(change, { code, value: '-' }));
  const onPaas = async () => f.push[kind].push(await app.push(change, code));
  if (round % 2) {
    await onFloor();
    await onPaas();
  } else {
    await onPaas();
    await onFloor();
  }
}

async function measure(runtime: Runtime, files: Record<AppKind, Files>): Promise<Figures> {
  const id = randomBytes(3).toString('hex');
  const f = emptyFigures();
  const floors: Floor[] = [];
  const run = await startRun(runtime);
  try {
    const floorOf = (kind: AppKind) =>
      runtime === 'process' ? processFloor(kind, files[kind]) : dockerFloor(kind, files[kind], STACK_IMAGE, CA, `paas-bench/floor-${kind}:${id}`);
    const floor = { nodeps: await floorOf('nodeps'), express: await floorOf('express') };
    floors.push(floor.nodeps, floor.express);
    const nodeps = await run.app(`bench-nodeps-${id}`, files.nodeps, 'nodeps-0');
    const express = await run.app(`bench-express-${id}`, files.express, 'express-0');
    for (let i = 1; i <= ROUNDS; i++) {
      const before = nodeps.state;
      await codeOnly('nodeps', i, floor.nodeps, nodeps, f);
      // Back to what answered before that push, then a new value on top of it.
      f.rollback.push(await nodeps.rollback(before));
      f.config.push(await nodeps.configSet(`round-${i}`));
      await codeOnly('express', i, floor.express, express, f);
      console.error(`bench:deploy: ${runtime}: round ${i}/${ROUNDS} done`);
    }
  } finally {
    for (const fl of floors) await fl.stop().catch(() => undefined);
    await run.stop();
    if (runtime === 'docker') {
      // The floor's images, the untagged ones its rebuilds left included.
      const docker = await connectDocker();
      for (const img of await docker.listImages({ filters: { label: ['paas.managed=true', 'paas.app=bench-floor'] } })) {
        await docker.getImage(img.Id).remove({ force: true }).catch(() => undefined);
      }
    }
  }
  return f;
}

async function main(): Promise<void> {
  const wanted = runtimes();
  const files = { nodeps: await appFiles('nodeps', 'nodeps-0'), express: await appFiles('express', 'express-0') };
  const measured = new Map<Runtime, Figures>();
  const skipped = new Map<Runtime, string>();
  for (const runtime of wanted) {
    const why = runtime === 'docker' ? await dockerUnavailable() : undefined;
    if (why) {
      skipped.set(runtime, why);
      console.error(`bench:deploy: docker runtime skipped: ${why}`);
      continue;
    }
    measured.set(runtime, await measure(runtime, files));
  }
  console.log(heading(ROUNDS, `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}`, process.env.PAAS_SETTLE_MS ?? 'default'));
  console.log(report(measured, skipped));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
