// The Docker probe behind the runtime choice and the Docker suites' skip line, on no engine: a user
// who may not open the engine's socket (a laptop user outside the docker group) is told that, and
// what to do, not only that no engine answers. The EACCES is real: a socket this process may not
// write to; as root, in a child without the capabilities that override file modes.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { connectDocker, probeDocker } from '../server/docker/engine.js';
import { asRoot } from './helpers/host.js';
import { ROOT, tempDir } from './helpers/paas.js';

/** probeDocker's reason for the engine at `host`: in this process, or as root in a child that cannot override modes. */
async function probeReason(host: string): Promise<string> {
  if (!asRoot) {
    const saved = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = host;
    try {
      const probe = await probeDocker(await connectDocker(), 5000);
      return probe.ok ? 'answered' : probe.reason;
    } finally {
      if (saved === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = saved;
    }
  }
  const engine = path.join(ROOT, 'dist', 'server', 'docker', 'engine.js');
  const script = `const { connectDocker, probeDocker } = await import(${JSON.stringify(engine)}); const p = await probeDocker(await connectDocker(), 5000); console.log(p.ok ? 'answered' : p.reason);`;
  const child = spawnSync('setpriv', ['--bounding-set=-dac_override,-dac_read_search', process.execPath, '--input-type=module', '-e', script], {
    env: { ...process.env, DOCKER_HOST: host },
    encoding: 'utf8',
    timeout: 20_000,
  });
  expect(child.status, child.stderr).toBe(0);
  return child.stdout.trim();
}

describe('the Docker probe', () => {
  it('says a socket this user may not open is that, and to join the docker group or run as root', async () => {
    const sock = path.join(tempDir('paas-probe-'), 'docker.sock');
    const server = net.createServer((c) => c.destroy());
    await new Promise<void>((resolve) => server.listen(sock, resolve));
    try {
      fs.chmodSync(sock, 0o000);
      expect(await probeReason(`unix://${sock}`)).toMatch(/EACCES.*may not use the engine's socket; add it to the docker group and log in again, or run paas as root/);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('says only what happened when no socket is there', async () => {
    const reason = await probeReason(`unix://${path.join(tempDir('paas-probe-'), 'none.sock')}`);
    expect(reason).toMatch(/ENOENT/);
    expect(reason).not.toContain('docker group');
  });
});
