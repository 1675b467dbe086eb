// bench:sandbox's app-network legs (issue 22): what a network namespace per app costs, side by side
// in one run against the same setup without one. Throughput: two paas servers on the process
// runtime, PAAS_APP_NETWORKS=auto and off, each with the same hello app pushed, loaded through
// their real embedded routers with wrk (one thread, keep-alive), legs interleaved round by round.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { parseRange, DEFAULT_APP_NETWORK_CIDR } from '../../server/netns/cidr.js';
import { AppNetworks } from '../../server/netns/networks.js';
import { openStore } from '../../server/store/db.js';
import { createApp, gitRepo, type Paas, push, startPaas, tempDir, viaRouter } from '../../test/helpers/paas.js';
import { findExecutable } from './proc.js';
import { runWrk } from './wrk.js';

const HELLO_APP = {
  Procfile: 'web: node server.js\n',
  'server.js': "require('http').createServer((q, s) => s.end('hello world')).listen(process.env.PORT);\nprocess.on('SIGTERM', () => process.exit(0));\n",
};

/** App networks of a store of their own, started (its nftables table made); closed by the caller. */
export async function benchNetworks(): Promise<{ networks: AppNetworks; close: () => Promise<void> }> {
  const range = parseRange(DEFAULT_APP_NETWORK_CIDR);
  if (typeof range === 'string') throw new Error(range);
  const db = openStore(path.join(tempDir('paas-bench-net-'), 'paas.db'));
  const networks = new AppNetworks({ range, instance: randomBytes(6).toString('hex'), db, log: () => undefined });
  await networks.start();
  return {
    networks,
    close: async () => {
      await networks.close();
      db.close();
    },
  };
}

export interface ThroughputRow {
  label: string;
  rps: number[];
  p99: number[];
}

/** Requests/s and p99 through the router to a dyno with and without its app network (wrk's runs, per round). */
export async function routerThroughput(rounds: number, seconds: number, connections: number): Promise<ThroughputRow[]> {
  const wrk = findExecutable('wrk');
  if (!wrk) throw new Error('bench:sandbox measures the router with wrk: apt-get install wrk');
  const signal = new AbortController().signal;
  const servers: { label: string; paas: Paas }[] = [];
  try {
    for (const [label, setting] of [['app network', 'auto'], ['host network', 'off']]) {
      const paas = await startPaas({ PAAS_APP_NETWORKS: setting });
      servers.push({ label, paas });
      await createApp(paas, 'hello');
      const pushed = await push(paas, await gitRepo(paas, HELLO_APP), 'hello');
      if (pushed.code !== 0) throw new Error(`git push failed:\n${pushed.stderr}`);
      const r = await viaRouter(paas, 'hello.localhost', '/');
      if (r.status !== 200) throw new Error(`the ${label} dyno does not answer: ${r.status} ${r.body}`);
    }
    const rows = servers.map((s) => ({ label: s.label, rps: [] as number[], p99: [] as number[] }));
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < servers.length; i++) {
        const leg = (i + round) % servers.length;
        const run = { wrk, port: servers[leg].paas.routerPort, host: 'hello.localhost', connections };
        await runWrk({ ...run, seconds: 1 }, signal);
        const r = await runWrk({ ...run, seconds }, signal);
        rows[leg].rps.push(r.requestsPerSec);
        rows[leg].p99.push(r.p99Ms);
        console.error(`round ${round + 1}/${rounds}, ${servers[leg].label}: ${r.requestsPerSec.toFixed(0)} req/s, p99 ${r.p99Ms.toFixed(2)} ms`);
      }
    }
    return rows;
  } finally {
    await Promise.all(servers.map((s) => s.paas.stop()));
  }
}
