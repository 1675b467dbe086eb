// End to end on the docker runtime: real git pushes to a real server whose dynos are containers of
// slug images built by the real engine, reached only through the router on 127.0.0.1.
import fs from 'node:fs';
import path from 'node:path';
import type Docker from 'dockerode';
import { beforeAll, expect, it, vi } from 'vitest';
import { instanceId, LABELS } from '../../server/docker/engine.js';
import { dockerSuite, dockerTestEnv, removeInstance, STACK_IMAGE, testDocker, withLockfile } from '../helpers/docker.js';
import { cli, commitFiles, createApp, gitRepo, type Paas, push, startPaas, viaRouter } from '../helpers/paas.js';

/** A Node app with a real npm dependency and an engines.node range the stack's Node (24) is not in. */
async function nodeDepApp(message: string): Promise<Record<string, string>> {
  return {
    ...(await withLockfile({ name: 'dep-app', version: '1.0.0', engines: { node: '22.x' }, dependencies: { 'is-number': '7.0.0' }, scripts: { start: 'node server.js' } })),
    'server.js': `
const fs = require('fs');
const isNumber = require('is-number');
const http = require('http');
const server = http.createServer((req, res) => {
  if (req.url === '/peek') {
    // A hostile dyno looks for the platform's store and token where the server keeps them.
    const tries = (process.env.PEEK || '').split(',').filter(Boolean).map((p) => { try { fs.readFileSync(p); return p + ': read'; } catch (e) { return p + ': ' + e.code; } });
    return res.end(JSON.stringify(tries));
  }
  res.end(JSON.stringify({ message: ${JSON.stringify(message)}, version: process.version, isNumber: isNumber(5), uid: process.getuid(), greeting: process.env.GREETING || null, dyno: process.env.DYNO, token: process.env.PAAS_API_TOKEN || null }));
});
server.listen(process.env.PORT, '0.0.0.0', () => console.log('listening on ' + process.env.PORT));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`,
  };
}

const pythonApp = {
  'requirements.txt': '# no third-party packages: PyPI is not reachable from the test machines\n',
  Procfile: 'web: python3 app.py\n',
  'app.py': `
import os, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("hello from python " + sys.version.split()[0]).encode()
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
HTTPServer(("0.0.0.0", int(os.environ["PORT"])), Handler).serve_forever()
`,
};

const staticSite = { 'index.html': '<!doctype html><title>static</title><h1>hello from a static site</h1>\n' };

function dockerfileApp(stack: string): Record<string, string> {
  return {
    // A USER that is root under another name does not stand: paas runs the app as its own uid.
    Dockerfile: `FROM ${stack}\nRUN echo 'toor:x:0:0::/:/bin/sh' >> /etc/passwd\nWORKDIR /srv/site\nCOPY server.js .\nUSER toor\nCMD ["node", "server.js"]\n`,
    'server.js': `require('http').createServer((q, s) => s.end('from my Dockerfile in ' + process.cwd() + ' as ' + process.getuid())).listen(process.env.PORT, '0.0.0.0');\n`,
  };
}

dockerSuite('the docker runtime, end to end', () => {
  let paas: Paas;
  let docker: Docker;
  const stack = STACK_IMAGE;
  beforeAll(async () => {
    docker = await testDocker();
    paas = await startPaas({ ...dockerTestEnv(), PAAS_DYNO_MEMORY: '256m' });
    // Docker dynos outlive their server: what this server made goes when the file ends.
    // The server stops first, or it would bring back the dynos removed under it.
    const dataDir = paas.dataDir;
    return async () => {
      await paas.stop();
      await removeInstance(docker, instanceId(dataDir), ['dock-node', 'dock-py', 'dock-static', 'dock-file']);
    };
  });

  /** This server's containers of `app` (another checkout's test run may use the same names on the engine). */
  async function containers(app: string): Promise<Docker.ContainerInspectInfo[]> {
    const list = await docker.listContainers({ filters: { label: [`${LABELS.managed}=true`, `${LABELS.app}=${app}`, `${LABELS.instance}=${instanceId(paas.dataDir)}`] } });
    return Promise.all(list.map((c) => docker.getContainer(c.Id).inspect()));
  }

  it('builds a Node app with an npm dependency and its engines.node, and runs it as a labelled, limited container of its own uid', async () => {
    await createApp(paas, 'dock-node');
    const dir = await gitRepo(paas, await nodeDepApp('first'));
    const r = await push(paas, dir, 'dock-node');
    expect(r.code, r.stderr).toBe(0);
    const body = JSON.parse((await viaRouter(paas, 'dock-node.localhost')).body);
    expect(body).toMatchObject({ message: 'first', isNumber: true, dyno: 'web.1', token: null });
    expect(body.version).toMatch(/^v22\./);
    expect(body.uid).not.toBe(0);
    const [c] = await containers('dock-node');
    expect(c.Config.Labels).toMatchObject({ [LABELS.managed]: 'true', [LABELS.app]: 'dock-node', [LABELS.type]: 'web', [LABELS.release]: '1' });
    expect(c.Name).toMatch(/^\/paas-dock-node-web\.1-v1-[0-9a-f]+$/);
    expect(c.Config.User).toBe(`${body.uid}:${body.uid}`);
    expect(c.HostConfig.Memory).toBe(256 * 1024 ** 2);
    expect(c.HostConfig.Init).toBe(true);
    expect(c.HostConfig.PidsLimit).toBe(1024);
    expect(c.HostConfig.CapDrop).toEqual(['ALL']);
    expect(Object.values(c.HostConfig.PortBindings ?? {}).flat()).toEqual([expect.objectContaining({ HostIp: '127.0.0.1' })]);
    expect(c.HostConfig.Binds ?? []).toEqual([]);

    // A code-only push reuses the dependency layer.
    await commitFiles(paas, dir, { 'server.js': fs.readFileSync(path.join(dir, 'server.js'), 'utf8').replace('"first"', '"second"') });
    const again = await push(paas, dir, 'dock-node');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/Using cache/);
    // So do the build stage's steps up to the tree's COPY: image retention kept that stage (issue 23).
    const lines = again.stderr.split('\n');
    const fromDeps = lines.findIndex((l) => /Step \d+\/\d+ : COPY --from=deps /.test(l));
    expect(fromDeps, again.stderr).toBeGreaterThan(0);
    expect(lines[fromDeps + 1]).toMatch(/---> Using cache/);
    expect(JSON.parse((await viaRouter(paas, 'dock-node.localhost')).body).message).toBe('second');
  });

  it('cannot read the paas store or token from a dyno', async () => {
    const peek = [path.join(paas.dataDir, 'paas.db'), path.join(paas.dataDir, 'token'), '/var/run/docker.sock'].join(',');
    const set = await cli(paas, ['config:set', `PEEK=${peek}`, '-a', 'dock-node']);
    expect(set.code, set.stderr).toBe(0);
    await vi.waitFor(async () => expect((await viaRouter(paas, 'dock-node.localhost', '/peek')).body).toContain('ENOENT'), { timeout: 30_000, interval: 500 });
    const tries = JSON.parse((await viaRouter(paas, 'dock-node.localhost', '/peek')).body) as string[];
    expect(tries).toHaveLength(3);
    for (const t of tries) expect(t).toMatch(/: ENOENT$/);
  });

  it('makes a config change live in the container, and scales to three containers', async () => {
    const set = await cli(paas, ['config:set', 'GREETING=hola', '-a', 'dock-node']);
    expect(set.code, set.stderr).toBe(0);
    await vi.waitFor(async () => expect(JSON.parse((await viaRouter(paas, 'dock-node.localhost')).body).greeting).toBe('hola'), { timeout: 30_000, interval: 500 });
    const scale = await cli(paas, ['ps:scale', 'web=3', '-a', 'dock-node']);
    expect(scale.code, scale.stderr).toBe(0);
    const running = await containers('dock-node');
    expect(running.map((c) => c.Config.Labels[LABELS.dyno]).sort()).toEqual(['web.1', 'web.2', 'web.3']);
    const dynos = new Set<string>();
    for (let i = 0; i < 30; i++) dynos.add(JSON.parse((await viaRouter(paas, 'dock-node.localhost')).body).dyno);
    expect([...dynos].sort()).toEqual(['web.1', 'web.2', 'web.3']);
  });

  it('serves a Python app, a static site and an app built from its own Dockerfile', async () => {
    for (const [app, files] of [['dock-py', pythonApp], ['dock-static', staticSite], ['dock-file', dockerfileApp(stack)]] as const) {
      await createApp(paas, app);
      const r = await push(paas, await gitRepo(paas, files), app);
      expect(r.code, `${app}: ${r.stderr}`).toBe(0);
      const [c] = await containers(app);
      expect(c.Config.User, app).toMatch(/^[1-9]\d*:[1-9]\d*$/);
      expect(c.HostConfig.Memory).toBe(256 * 1024 ** 2);
    }
    expect((await viaRouter(paas, 'dock-py.localhost')).body).toMatch(/^hello from python 3\./);
    expect((await viaRouter(paas, 'dock-static.localhost')).body).toContain('hello from a static site');
    expect((await viaRouter(paas, 'dock-file.localhost')).body).toMatch(/^from my Dockerfile in \/srv\/site as [1-9]\d*$/);
  });

  it('rejects a failing build and keeps the old release serving', async () => {
    const dir = await gitRepo(paas, pythonApp);
    await commitFiles(paas, dir, { 'Dockerfile': 'FROM paas/no-such-image:anywhere\n' });
    const r = await push(paas, dir, 'dock-py', '+main');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/no-such-image/);
    expect((await viaRouter(paas, 'dock-py.localhost')).body).toMatch(/^hello from python 3\./);
  });

  it('removes the containers and images of a destroyed app', async () => {
    const d = await cli(paas, ['apps:destroy', 'dock-static', '--confirm', 'dock-static']);
    expect(d.code, d.stderr).toBe(0);
    expect(await containers('dock-static')).toEqual([]);
    expect(await docker.listImages({ filters: { label: [`${LABELS.app}=dock-static`] } })).toEqual([]);
  });

  // Last: the second server lives only as long as this test.
  it('keeps the containers running across a control-plane restart, and adopts them', async () => {
    const before = (await containers('dock-node')).map((c) => c.Id).sort();
    expect(before).toHaveLength(3);
    expect(await paas.stop()).toBe(0);
    // The server is gone; its dynos are not.
    expect((await containers('dock-node')).map((c) => c.Id).sort()).toEqual(before);
    paas = await startPaas({ ...dockerTestEnv(), PAAS_DYNO_MEMORY: '256m', PAAS_DATA_DIR: paas.dataDir, PAAS_API_TOKEN: paas.token });
    await vi.waitFor(async () => expect((await viaRouter(paas, 'dock-node.localhost')).status).toBe(200), { timeout: 20_000, interval: 200 });
    expect((await containers('dock-node')).map((c) => c.Id).sort()).toEqual(before);
    expect((await viaRouter(paas, 'dock-py.localhost')).status).toBe(200);
  });


});
