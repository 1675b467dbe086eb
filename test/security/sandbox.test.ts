// A hostile app deployed next to a victim app, with the server running as root (as CI runs it).
// From its build script, its release phase and its web dyno it tries to reach the platform and the
// victim; every attempt must fail. Needs root and bubblewrap: .ci/run installs it and runs as root.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { detectSandbox } from '../../server/sandbox/host.js';
import { onCleanup } from '../helpers/cleanup.js';
import { hostCanRun, root } from '../helpers/host.js';
import { apiCall, cli, commitFiles, gitRepo, type Paas, push, type Result, startPaas, tempDir, viaRouter } from '../helpers/paas.js';
import { envApp } from '../helpers/fixtures.js';
import { hostileApp, type Targets } from './hostile-app.js';

const host = detectSandbox();
const canSandbox = hostCanRun('a hostile app against the sandbox', { ...root('app uids'), 'bubblewrap that can make namespaces': host.kind === 'bwrap' });

type Attempt = { ok: boolean; error?: string; value?: string };
interface Probe {
  [name: string]: unknown;
  signalOthers: Attempt[];
  uid: number;
  cwd: string;
  home: string;
  pids: number;
  proc: string;
}

const ATTEMPTS = ['listRunDir', 'readServerEnviron', 'readStore', 'readToken', 'listDataDir', 'listOtherSlugs', 'readOperatorNetrc', 'writeDataDir', 'signalServer'];

/** The pids of an app's processes on the host, found the way root can: through /proc. */
function appPids(app: string): number[] {
  return fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((pid) => {
      try {
        const uid = /^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
        return uid !== '0' && fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`PAAS_APP_NAME=${app}`);
      } catch {
        return false;
      }
    });
}

/** The probe's result, from the numbered pieces it printed (`PROBE <phase> <n> <piece>|`). */
function probeLine(output: string, phase: string): Probe {
  const tag = `PROBE ${phase} `;
  const pieces = output
    .split('\n')
    .filter((l) => l.includes(tag))
    .map((l) => {
      const rest = l.slice(l.indexOf(tag) + tag.length);
      const space = rest.indexOf(' ');
      return { n: Number(rest.slice(0, space)), text: rest.slice(space + 1, rest.lastIndexOf('|')) };
    })
    .sort((a, b) => a.n - b.n);
  expect(pieces.length, `the ${phase} probe ran:\n${output}`).toBeGreaterThan(0);
  return JSON.parse(pieces.map((p) => p.text).join('')) as Probe;
}

describe.runIf(canSandbox)('a hostile app cannot reach the platform or other apps (root, bubblewrap)', () => {
  let paas: Paas;
  let targets: Targets;
  let hostileOutput: string;
  let victimRepo: string;
  const secrets: string[] = [];

  function expectContained(probe: Probe, where: string): void {
    for (const name of ATTEMPTS) expect(probe[name], `${where}: ${name}`).toMatchObject({ ok: false });
    // Its /tmp is its own: the host's file is not there, and what it writes there stays there.
    expect((probe.readHostTmp as Attempt).value, `${where}: readHostTmp`).not.toBe('host file');
    expect(fs.readFileSync(targets.hostTmpFile, 'utf8'), `${where}: the host file is unchanged`).toBe('host file');
    for (const attempt of probe.signalOthers) expect(attempt, `${where}: signal another app's dyno`).toMatchObject({ ok: false });
    expect(probe.uid, `${where} runs as its own uid`).toBeGreaterThanOrEqual(300_000);
    for (const secret of [...secrets, paas.dataDir, paas.home, 'PAAS_HOOK', 'PAAS_API_TOKEN']) {
      expect(probe.proc, `${where} sees ${secret} in /proc`).not.toContain(secret);
    }
    expect(probe.pids, `${where} sees only its own processes`).toBeLessThanOrEqual(6);
  }

  // The server and everything below are cleaned up when the file ends, pass or fail (the helpers
  // register that when they make each).
  beforeAll(async () => {
    // The operator started paas with a file of theirs open (as `paas server 30<secret` would).
    const operatorFile = path.join(tempDir('paas-operator-'), 'operator-only.txt');
    fs.writeFileSync(operatorFile, 'operator-only', { mode: 0o600 });
    const inherited = fs.openSync(operatorFile, 'r');
    paas = await startPaas({}, { inheritFd: inherited });
    fs.closeSync(inherited);
    secrets.push(paas.token, operatorFile);
    fs.writeFileSync(path.join(paas.home, '.netrc'), 'machine example.com login operator password operator-secret-1\n', { mode: 0o600 });
    secrets.push('operator-secret-1');
    // A token file as a server without PAAS_API_TOKEN keeps it.
    fs.writeFileSync(path.join(paas.dataDir, 'api-token'), `${paas.token}\n`, { mode: 0o600 });
    const hostTmpFile = path.join(os.tmpdir(), `paas-host-file-${process.pid}`);
    fs.writeFileSync(hostTmpFile, 'host file', { mode: 0o644 });
    onCleanup(() => fs.rmSync(hostTmpFile, { force: true }));
    targets = {
      serverPid: paas.proc.pid!,
      dataDir: paas.dataDir,
      db: path.join(paas.dataDir, 'paas.db'),
      tokenFile: path.join(paas.dataDir, 'api-token'),
      otherSlugs: path.join(paas.dataDir, 'slugs'),
      operatorNetrc: path.join(paas.home, '.netrc'),
      hostTmpFile,
      dataDirWrite: path.join(paas.dataDir, 'pwned'),
      runDir: path.join(paas.dataDir, 'run'),
      apiUrl: paas.apiUrl,
    };
    for (const app of ['victim', 'hostile']) expect((await apiCall(paas, 'POST', '/v1/apps', { name: app })).status).toBe(201);
    victimRepo = await gitRepo(paas, envApp('victim', 'sleep 3'));
    const victim = await push(paas, victimRepo, 'victim');
    expect(victim.code, victim.stderr).toBe(0);
    const hostile = await push(paas, await gitRepo(paas, hostileApp(targets)), 'hostile');
    hostileOutput = hostile.stderr;
    expect(hostile.code, hostile.stderr).toBe(0);
  });

  it('from its build script, while its own push is in flight', () => {
    expectContained(probeLine(hostileOutput, 'build'), 'build script');
  });

  it('from its release phase, which runs at /app and may write there', () => {
    const probe = probeLine(hostileOutput, 'release');
    expectContained(probe, 'release phase');
    expect([probe.cwd, probe.home]).toEqual(['/app', '/app']);
  });

  it("from its web dyno, aiming at the server and the victim's dynos", async () => {
    const victimPids = appPids('victim');
    expect(victimPids.length).toBeGreaterThan(0);
    const res = await viaRouter(paas, 'hostile.localhost', `/probe?pids=${victimPids.join(',')}`);
    const probe = JSON.parse(res.body) as Probe;
    expectContained(probe, 'web dyno');
    expect([probe.cwd, probe.home]).toEqual(['/app', '/app']);
    expect((await viaRouter(paas, 'victim.localhost')).status).toBe(200);
    expect(paas.proc.exitCode).toBeNull();
    expect(fs.existsSync(targets.dataDirWrite)).toBe(false);
    expect(fs.readFileSync(targets.hostTmpFile, 'utf8')).toBe('host file');
  });

  it("from its web dyno while another app's push is in flight", async () => {
    // The victim's release phase sleeps 3 s: its receive-pack (holding the hook secret) runs meanwhile.
    await commitFiles(paas, victimRepo, envApp('victim v2', 'sleep 3'));
    let pushed: Result | undefined;
    const victimPush = push(paas, victimRepo, 'victim').then((r) => (pushed = r));
    // Probes every 250 ms for as long as the push is in flight, and once more after it.
    const seen: Probe[] = [];
    await vi.waitFor(
      async () => {
        const inFlight = pushed === undefined;
        seen.push(JSON.parse((await viaRouter(paas, 'hostile.localhost', '/probe')).body) as Probe);
        if (inFlight) throw new Error(`the victim's push is still in flight after ${seen.length} probe(s)`);
      },
      { timeout: 60_000, interval: 250 },
    );
    expect((await victimPush).code).toBe(0);
    expect(seen.length, 'probes taken while the push was in flight').toBeGreaterThan(4);
    for (const probe of seen) expectContained(probe, 'web dyno during a push');
  });

  it('finds no pre-receive callback on the API', async () => {
    const res = JSON.parse((await viaRouter(paas, 'hostile.localhost', '/hook')).body);
    // In its own network (issue 22) the API is out of reach altogether (ECONNREFUSED: nothing
    // listens on the namespace's loopback); on the host's it has no such route (404).
    expect(res.api).toMatchObject({ ok: false });
    expect(res.api.status === 404 || res.api.error === 'ECONNREFUSED', JSON.stringify(res.api)).toBe(true);
  });

  it('finds a fresh /app after a restart: what a dyno wrote there is gone, the slug unchanged', async () => {
    expect(JSON.parse((await viaRouter(paas, 'hostile.localhost', '/write')).body)).toEqual({ wrote: true });
    expect(JSON.parse((await viaRouter(paas, 'hostile.localhost', '/read')).body)).toMatchObject({ marker: true });
    const set = await cli(paas, ['config:set', 'RESTART=1', '-a', 'hostile']);
    expect(set.code, set.stderr).toBe(0);
    // The release phase wrote /app/release.test in its own layer; neither that nor the marker survives.
    expect(JSON.parse((await viaRouter(paas, 'hostile.localhost', '/read')).body)).toEqual({ marker: false, release: false });
  });

  it('keeps the data dir, the store and the token closed to everyone but the server', () => {
    const mode = (file: string) => fs.statSync(file).mode & 0o777;
    expect(mode(paas.dataDir)).toBe(0o700);
    expect(mode(path.join(paas.dataDir, 'paas.db'))).toBe(0o600);
    expect(mode(path.join(paas.dataDir, 'slugs'))).toBe(0o700);
    expect(mode(path.join(paas.dataDir, 'cache'))).toBe(0o700);
    for (const slug of fs.readdirSync(path.join(paas.dataDir, 'slugs'))) expect(mode(path.join(paas.dataDir, 'slugs', slug)) & 0o077).toBe(0);
  });
});
