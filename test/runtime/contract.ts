// One contract every runtime implementation must meet (in the style of Hono's common router
// tests). Each implementation's test file calls runtimeContract() with a factory.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DynoSpec, Runtime } from '../../server/runtime/types.js';
import { waitForPort } from '../../server/runtime/wait-port.js';
import { tempDir } from '../helpers/paas.js';

const SERVER = `
const http = require('http');
const server = http.createServer((req, res) => res.end(process.env.GREETING + ' from ' + process.env.DYNO));
// The handler goes in before listen(): the port accepts connections from the moment it is bound,
// so the runtime may send SIGTERM before any later statement has run.
process.on('SIGTERM', () => { console.log('got SIGTERM'); server.close(() => process.exit(0)); });
server.listen(process.env.PORT, () => console.log('up on ' + process.env.PORT));
console.error('to stderr');
`;

function slug(): string {
  const dir = tempDir('paas-slug-');
  fs.writeFileSync(path.join(dir, 'server.js'), SERVER);
  fs.writeFileSync(path.join(dir, 'stubborn.js'), "process.on('SIGTERM', () => console.log('ignoring SIGTERM')); setInterval(() => {}, 1000); console.log('ready');");
  return dir;
}

function spec(command: string, lines: string[]): DynoSpec {
  return {
    app: 'contract',
    name: 'web.1',
    slugDir: slug(),
    command,
    env: { PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin`, GREETING: 'hello', DYNO: 'web.1', PAAS_APP_NAME: 'contract' },
    onLine: (stream, line) => lines.push(`${stream}: ${line}`),
  };
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
}

export function runtimeContract(name: string, make: () => Runtime): void {
  describe(`runtime contract: ${name}`, () => {
    it('runs the command with PORT and the env, reachable at host:port, with output captured', async () => {
      const rt = make();
      const lines: string[] = [];
      const dyno = await rt.start(spec('node server.js', lines));
      expect(await waitForPort(dyno.host, dyno.port, { timeoutMs: 10_000, exited: dyno.exited })).toEqual({ ok: true });
      expect(await (await fetch(`http://${dyno.host}:${dyno.port}/`)).text()).toBe('hello from web.1');
      await until(() => lines.length >= 2);
      expect(lines).toContain(`stdout: up on ${dyno.port}`);
      expect(lines).toContain('stderr: to stderr');
      await rt.stop(dyno, 5000);
    });

    it('stops with SIGTERM first, so the app can drain', async () => {
      const rt = make();
      const lines: string[] = [];
      const dyno = await rt.start(spec('node server.js', lines));
      await waitForPort(dyno.host, dyno.port, { timeoutMs: 10_000, exited: dyno.exited });
      await rt.stop(dyno, 5000);
      await until(() => lines.includes('stdout: got SIGTERM'));
      expect(lines).toContain('stdout: got SIGTERM');
    });

    it('kills a dyno that ignores SIGTERM after the grace period', async () => {
      const rt = make();
      const lines: string[] = [];
      const dyno = await rt.start(spec('node stubborn.js', lines));
      await until(() => lines.includes('stdout: ready'));
      const started = Date.now();
      await rt.stop(dyno, 500);
      expect(Date.now() - started).toBeGreaterThanOrEqual(450);
      await until(() => lines.includes('stdout: ignoring SIGTERM'));
      expect(lines).toContain('stdout: ignoring SIGTERM');
    });

    it('reports a dyno that exits by itself', async () => {
      const rt = make();
      const dyno = await rt.start(spec('exit 7', []));
      expect(await dyno.exited).toMatchObject({ code: 7 });
      expect(await waitForPort(dyno.host, dyno.port, { timeoutMs: 2000, exited: dyno.exited })).toMatchObject({ ok: false, reason: 'exited' });
    });

    it('reaps, after a restart, only the leftover dynos of the app it is told about', async () => {
      const before = make();
      const dyno = await before.start(spec('node server.js', []));
      await waitForPort(dyno.host, dyno.port, { timeoutMs: 10_000, exited: dyno.exited });
      // A new runtime instance stands for a paas server started after one that was SIGKILLed.
      const after = make();
      expect(await after.reap([{ app: 'another-app', handle: dyno.handle }], 1000)).toBe(0);
      expect((await fetch(`http://${dyno.host}:${dyno.port}/`)).status).toBe(200);
      expect(await after.reap([{ app: 'contract', handle: dyno.handle }, { app: 'contract', handle: null }], 1000)).toBe(1);
      await dyno.exited;
      await expect(fetch(`http://${dyno.host}:${dyno.port}/`)).rejects.toThrow();
    });

    it('leaves no process behind when a shell command started children', async () => {
      const rt = make();
      const lines: string[] = [];
      const dyno = await rt.start(spec('node server.js & wait', lines));
      await waitForPort(dyno.host, dyno.port, { timeoutMs: 10_000, exited: dyno.exited });
      await rt.stop(dyno, 1000);
      await expect(fetch(`http://${dyno.host}:${dyno.port}/`)).rejects.toThrow();
    });
  });
}
