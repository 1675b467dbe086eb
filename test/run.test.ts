// `paas run`, end to end: a real server, the real CLI over loopback, one-off dynos in the real
// sandbox. Exit codes, stdin, config and -e, a pseudo-terminal, ps, routing, cleanup, --detach.
import fs from 'node:fs';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import type { Dyno } from '../cli/types.js';
import { nodeApp } from './helpers/fixtures.js';
import { cli, createApp, gitRepo, type Paas, push, startPaas, viaRouter } from './helpers/paas.js';
import { paasRun, paasRunInTerminal, startRun, startRunInTerminal } from './helpers/run.js';

const APP = 'oneoff';
let paas: Paas;

beforeAll(async () => {
  paas = await startPaas();
  await createApp(paas, APP);
  const pushed = await push(paas, await gitRepo(paas, nodeApp('from web')), APP);
  expect(pushed.code, pushed.stderr).toBe(0);
  const set = await cli(paas, ['config:set', 'GREETING=hello', '-a', APP]);
  expect(set.code, set.stderr).toBe(0);
}, 120_000);

const run = (args: string[], input = '') => paasRun(paas, APP, args, input);

async function ps(): Promise<Dyno[]> {
  const r = await cli(paas, ['ps', '-a', APP, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Dyno[];
}

/** Pids of processes of this app's one-off dyno `name`, found by their environment. */
function pidsOf(name: string): number[] {
  return fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e)).filter((pid) => {
    try {
      const env = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      return env.includes(`PAAS_APP_NAME=${APP}`) && env.includes(`DYNO=${name}`);
    } catch {
      return false;
    }
  }).map(Number);
}

describe('paas run', () => {
  it("exits with the command's exit code, 128 + n for a death by signal n", async () => {
    expect((await run(['sh', '-c', 'exit 3'])).code).toBe(3);
    expect((await run(['--', 'sh', '-c', 'kill -TERM $$'])).code).toBe(143);
  });

  it('pipes stdin to the command, end-of-file included', async () => {
    const python = await run(['python3'], 'print(6*7)\n');
    expect(python.stdout, python.stderr).toBe('42\n');
    const node = await run(['node'], 'process.stdout.write(String(6 * 7))');
    expect(node.stdout, node.stderr).toBe('42');
  });

  it("gives the command the release's config and -e variables, and leaves its options to it", async () => {
    const r = await run(['-e', 'EXTRA=1', 'sh', '-c', 'echo "$GREETING $EXTRA $DYNO"; pwd']);
    expect(r.stdout.split('\n')).toEqual([expect.stringMatching(/^hello 1 run\.\d+$/), '/app', '']);
    const flags = await run(['node', '-e', 'console.log(process.argv.slice(1).join(), process.env.GREETING)', '--', '-a', 'x']);
    expect(flags.stdout, flags.stderr).toBe('-a,x hello\n');
    // Several words reach the command exactly as given: no word is split, expanded or dropped.
    const words = await run(['printf', '%s|', 'a b', "it's", '$HOME', '', '*']);
    expect(words.stdout, words.stderr).toBe("a b|it's|$HOME||*|");
  });

  it('runs on a pseudo-terminal when stdin is a terminal', async () => {
    const r = await paasRunInTerminal(paas, APP, "sh -c 'tty; stty size'");
    expect(r.stdout).toMatch(/\/dev\/pts\/\d+/);
    // script's terminal has no size: the CLI asks for 24x80, and the dyno's terminal has it.
    expect(r.stdout).toContain('24 80');
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });

  it('passes Ctrl-C through to the command on a terminal, as a key', async () => {
    const run = startRunInTerminal(paas, APP, "sh -c 'echo ready; sleep 30'");
    await vi.waitFor(() => expect(run.output()).toContain('ready'), { timeout: 15_000 });
    run.child.stdin!.write('\x03');
    const r = await run.result;
    expect(r.code, r.stdout).toBe(130);
  });

  it('shows the one-off dyno in ps, never routes to it, and stops it when the client goes away', async () => {
    const serve = "require('http').createServer((q, s) => s.end('from the one-off')).listen(process.env.PORT)";
    const child = startRun(paas, APP, ['node', '-e', serve]);
    let dyno: Dyno | undefined;
    await vi.waitFor(async () => {
      dyno = (await ps()).find((d) => d.type === 'run');
      expect(dyno).toMatchObject({ state: 'up', command: expect.stringContaining('node -e') });
    }, { timeout: 15_000 });
    const human = await cli(paas, ['ps', '-a', APP]);
    expect(human.stdout).toContain(`${dyno!.name}: up`);
    expect(pidsOf(dyno!.name).length).toBeGreaterThan(0);
    for (let i = 0; i < 10; i++) expect(JSON.parse((await viaRouter(paas, `${APP}.localhost`)).body)).toMatchObject({ message: 'from web' });
    child.kill('SIGKILL');
    await vi.waitFor(async () => {
      expect((await ps()).filter((d) => d.type === 'run')).toEqual([]);
      expect(pidsOf(dyno!.name)).toEqual([]);
    }, { timeout: 10_000 });
  });

  it('runs --detach in the background, with its output in the logs', async () => {
    const r = await run(['--detach', 'sh', '-c', 'echo "detached $GREETING"']);
    expect(r.code, r.stderr).toBe(0);
    const name = /^Running sh -c 'echo "detached \$GREETING"' on oneoff\.\.\. up, (run\.\d+)$/m.exec(r.stdout)?.[1];
    expect(name, r.stdout).toBeDefined();
    await vi.waitFor(async () => {
      const logs = await cli(paas, ['logs', '-a', APP]);
      expect(logs.stdout).toContain(`app[${name}]: detached hello`);
      expect(logs.stdout).toContain(`paas[${name}]: Process exited with status 0`);
    }, { timeout: 15_000 });
  });

  it('stops a run at its --timeout', async () => {
    const started = Date.now();
    const r = await run(['--timeout', '1', 'sleep', '30']);
    expect(r.code).toBe(143);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('refuses the run websocket to a browser (Origin) and to a request without the token', async () => {
    const url = `${paas.apiUrl.replace(/^http/, 'ws')}/v1/apps/${APP}/run?arg=true`;
    const status = (headers: Record<string, string>) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(url, { headers });
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => (ws.close(), resolve(101)));
        ws.on('error', () => resolve(0));
      });
    expect(await status({ authorization: `Bearer ${paas.token}`, origin: 'http://evil.example' })).toBe(403);
    expect(await status({})).toBe(401);
  });

  it('says what to do when there is nothing to run yet', async () => {
    await createApp(paas, 'empty');
    const r = await cli(paas, ['run', '-a', 'empty', 'true']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Push code first');
  });
});
