// Image slugs built by the real engine (classic builder) from generated Dockerfiles and an app's
// own: they build, run and answer, reuse the dependency layer, keep the CA out, run as the app.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ImageBuildRequest } from '../../builder/docker/index.js';
import type { Slug } from '../../builder/index.js';
import { removeTree } from '../helpers/cleanup.js';
import { dockerSuite } from '../helpers/docker.js';
import { makeTestCa } from '../helpers/registry.js';

/** The one place the base image is named: the lead points it at the real stack. */
const STACK = process.env.PAAS_STACK_IMAGE || 'paas/stack:bookworm';
const APP = `imgtest-${process.pid}`;
const USER = { uid: 23456, gid: 23457 };
const NAME_SUFFIX = `${process.pid}${Date.now()}`.slice(-8);
/** A line of the test's own CA (set in beforeAll): found wherever a copy of it is. */
let MARKER: string;

// The compiled builder (npm test compiles first), as the server runs it: a static slug ships the
// compiled static server, which exists only beside the compiled builder.
type Builder = typeof import('../../builder/docker/index.js') & Pick<typeof import('../../builder/index.js'), 'BuildError'>;
let buildImage: Builder['buildImage'];
let BuildError: Builder['BuildError'];
let docker: Docker;
let work: string;
let caFile: string;
let buildNo = 0;

/** A tar stream of `files` (path → content, or { link } for a symbolic link), as git archive makes. */
async function tree(files: Record<string, string | { link: string }>): Promise<NodeJS.ReadableStream> {
  const dir = fs.mkdtempSync(path.join(work, 'src-'));
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    if (typeof content === 'string') fs.writeFileSync(path.join(dir, name), content);
    else fs.symlinkSync(content.link, path.join(dir, name));
  }
  const tar = await import('tar');
  return tar.c({ cwd: dir, portable: true }, fs.readdirSync(dir)) as unknown as NodeJS.ReadableStream;
}

async function build(files: Record<string, string | { link: string }>, extra: Partial<ImageBuildRequest> = {}) {
  const lines: string[] = [];
  const buildId = `b${++buildNo}-${Date.now()}`;
  const started = Date.now();
  const slug = await buildImage({
    appName: APP,
    buildId,
    source: await tree(files),
    slugsDir: path.join(work, 'slugs'),
    cacheDir: path.join(work, 'cache'),
    log: (l) => lines.push(l),
    docker,
    stackImage: STACK,
    commit: `c0ffee${buildNo}`,
    // The host's bundle as the extra CA (PAAS_BUILD_CA_FILE), as the server hands it in.
    registry: { npmrc: [], sources: [], ignored: [], extraCa: fs.readFileSync(caFile, 'utf8') },
    user: USER,
    ...extra,
  });
  return { slug, lines, buildId, ms: Date.now() - started };
}

/** Runs the slug's web process (or the image's own command) with a port published on loopback; returns its base URL. */
async function serve(slug: Slug): Promise<string> {
  const web = slug.imageCommand?.includes('web') ? undefined : ['bash', '-c', slug.processTypes.web];
  const prepend = slug.pathPrepend.map((p) => path.posix.join('/app', p));
  const env = { ...slug.env, PORT: '5000', PATH: [...prepend, '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'].join(':') };
  const container = await docker.createContainer({
    Image: slug.image,
    Cmd: web,
    Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    Labels: { 'paas.managed': 'true', 'paas.app': APP },
    ExposedPorts: { '5000/tcp': {} },
    HostConfig: { PortBindings: { '5000/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] } },
  });
  await container.start();
  const port = (await container.inspect()).NetworkSettings.Ports['5000/tcp'][0].HostPort;
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(url).then((r) => r.ok, () => false);
    if (ok) return url;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${slug.image} never answered; logs:\n${(await container.logs({ stdout: true, stderr: true })).toString()}`);
}

/** Runs argv in the image (as its user) and returns stdout. */
function inImage(image: string, argv: string[]): string {
  return execFileSync('docker', ['run', '--rm', '--label', 'paas.managed=true', '--label', `paas.app=${APP}`, '--entrypoint', argv[0], image, ...argv.slice(1)], { encoding: 'utf8' });
}

const server = (message: string) => `
const http = require('http');
const isNumber = require('is-number');
http.createServer((req, res) => res.end(JSON.stringify({ message: ${JSON.stringify(message)}, five: isNumber(5), uid: process.getuid() })))
  .listen(process.env.PORT, '0.0.0.0');
`;

/** The image's newest layer's entries (from `docker save`): what a build wrote last. */
async function newestLayer(image: string): Promise<string[]> {
  const dir = fs.mkdtempSync(path.join(work, 'save-'));
  execFileSync('docker', ['save', '-o', path.join(dir, 'image.tar'), image]);
  const tar = await import('tar');
  await tar.x({ file: path.join(dir, 'image.tar'), cwd: dir });
  const [manifest] = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { Layers: string[] }[];
  const entries: string[] = [];
  await tar.t({ file: path.join(dir, manifest.Layers.at(-1)!), onReadEntry: (e) => entries.push(e.path) });
  removeTree(dir);
  return entries;
}

function nodeApp(scripts: Record<string, string> = { start: 'node server.js', build: 'id -u' }): Record<string, string | { link: string }> {
  const pkg = { name: `imgtest-${NAME_SUFFIX}`, version: '1.0.0', dependencies: { 'is-number': '7.0.0' }, scripts };
  const dir = fs.mkdtempSync(path.join(work, 'lock-'));
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(pkg));
  execFileSync('npm', ['install', '--package-lock-only', '--no-audit', '--no-fund'], { cwd: dir, stdio: 'ignore', env: { ...process.env, TMPDIR: dir } });
  return {
    'package.json': JSON.stringify(pkg),
    'package-lock.json': fs.readFileSync(path.join(dir, 'package-lock.json'), 'utf8'),
    'server.js': server('first'),
    'docs/readme-link': { link: '../server.js' },
  };
}

dockerSuite('image slugs', () => {
  beforeAll(async () => {
    const dist = '../../dist/builder';
    ({ buildImage } = (await import(`${dist}/docker/index.js`)) as Builder);
    ({ BuildError } = (await import(`${dist}/index.js`)) as Builder);
    const { default: DockerClient } = await import('dockerode');
    docker = new DockerClient();
    await docker.getImage(STACK).inspect(); // fails the file with a 404 naming the image when it is missing
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'image-build-'));
    // The host's bundle (the TLS-intercepting proxy's CA among its roots) plus a CA found nowhere else.
    const own = makeTestCa(fs.mkdtempSync(path.join(work, 'ca-')));
    MARKER = own.marker;
    caFile = path.join(work, 'ca.pem');
    fs.writeFileSync(caFile, `${fs.readFileSync('/etc/ssl/certs/ca-certificates.crt', 'utf8')}\n${fs.readFileSync(own.caFile, 'utf8')}`);
  });

  afterAll(async () => {
    const label = ['paas.managed=true', `paas.app=${APP}`];
    for (const c of await docker.listContainers({ all: true, filters: { label } })) await docker.getContainer(c.Id).remove({ force: true });
    // Tagged slugs first, then the untagged stage images (deps, node) the builds labelled.
    for (const i of await docker.listImages({ filters: { label } })) await docker.getImage(i.Id).remove({ force: true }).catch(() => undefined);
    // Only the stage images of builds like these, with no server's paas.instance: a server's own go with it.
    for (const kind of ['node', 'tools']) {
      const stages = await docker.listImages({ filters: { label: ['paas.managed=true', `paas.kind=${kind}`], dangling: ['true'] } });
      for (const i of stages.filter((img) => !img.Labels?.['paas.instance'])) await docker.getImage(i.Id).remove({ force: true }).catch(() => undefined);
    }
    if (work) removeTree(work);
  });

  it('builds a Node app with an npm dependency, runs it as the app, and reuses the deps layer on a code-only push', async () => {
    const files = nodeApp();
    const cold = await build(files);
    const { slug, lines } = cold;
    expect(slug).toMatchObject({ image: `paas/${APP}:${cold.buildId}`, buildpack: 'Node.js', pathPrepend: ['node_modules/.bin'] });
    expect(slug.env).toMatchObject({ NODE_ENV: 'production', npm_package_json: '/app/package.json', npm_node_execpath: '/usr/local/bin/node' });
    expect(lines).toContain('-----> Node.js app detected');
    expect(lines).toContain('-----> Installing dependencies with npm ci');
    expect(lines).toContain(`       ${USER.uid}`); // the build script's `id -u`: steps run as the app
    // The tree is in the image; slug.json stays where readSlug looks.
    const home = path.join(work, 'slugs', cold.buildId);
    expect(fs.readdirSync(home)).toEqual(['slug.json']);

    const body = await (await fetch(await serve(slug))).json();
    expect(body).toEqual({ message: 'first', five: true, uid: USER.uid });
    const info = await docker.getImage(slug.image!).inspect();
    expect(info.Config.Labels).toMatchObject({ 'paas.managed': 'true', 'paas.app': APP, 'paas.build': cold.buildId, 'paas.commit': expect.stringMatching(/^c0ffee/) });
    expect(info.Config.User).toBe(`${USER.uid}:${USER.gid}`);
    expect(inImage(slug.image!, ['stat', '-c', '%u:%g %n', '/app', '/app/server.js', '/app/node_modules/is-number/index.js']).trim().split('\n'))
      .toEqual([`${USER.uid}:${USER.gid} /app`, `${USER.uid}:${USER.gid} /app/server.js`, `${USER.uid}:${USER.gid} /app/node_modules/is-number/index.js`]);
    // A link inside the tree stays a link in the image (the context carries links, COPY keeps them).
    expect(inImage(slug.image!, ['readlink', '/app/docs/readme-link']).trim()).toBe('../server.js');

    // The CA: in neither the final image's layers (all of its files, as saved) nor its history.
    const history = await docker.getImage(slug.image!).history();
    expect(JSON.stringify(history)).not.toMatch(/ca\.pem|ca-bundle/);
    const saved = execFileSync('docker', ['save', slug.image!], { maxBuffer: 1 << 30 });
    expect(saved.includes(MARKER)).toBe(false);

    const code = await build({ ...files, 'server.js': server('second') });
    const ci = code.lines.findIndex((l) => /Step \d+\/\d+ : RUN .*"npm","ci"/.test(l));
    expect(code.lines[ci + 1]).toContain('Using cache');
    expect(await (await fetch(await serve(code.slug))).json()).toMatchObject({ message: 'second' });
    const same = await build({ ...files, 'server.js': server('second') });
    console.log(`image build times, Node app with one dependency: cold ${cold.ms} ms, code-only ${code.ms} ms, no change ${same.ms} ms`);
  });

  it('gives the dependencies of an app with no build step their own cached layer: a code-only push writes only the tree', async () => {
    const files = nodeApp({ start: 'node server.js' });
    const first = await build(files);
    const code = await build({ ...files, 'server.js': server('code') });
    expect(await (await fetch(await serve(code.slug))).json()).toEqual({ message: 'code', five: true, uid: USER.uid });
    // The same owner as with a build stage: the app's, for /app, the tree and node_modules alike.
    expect(inImage(code.slug.image!, ['stat', '-c', '%u:%g %a %n', '/app', '/app/server.js', '/app/node_modules/is-number/index.js']).trim().split('\n'))
      .toEqual([`${USER.uid}:${USER.gid} 755 /app`, `${USER.uid}:${USER.gid} 644 /app/server.js`, `${USER.uid}:${USER.gid} 644 /app/node_modules/is-number/index.js`]);
    const layers = async (image: string) => (await docker.getImage(image).inspect()).RootFS.Layers ?? [];
    const [before, after] = [await layers(first.slug.image!), await layers(code.slug.image!)];
    // One new layer, the tree's: node_modules is in the one before, shared with the first image.
    expect(after.slice(0, -1)).toEqual(before.slice(0, -1));
    const newest = await newestLayer(code.slug.image!);
    expect(newest).toContain('app/server.js');
    expect(newest.filter((e) => e.startsWith('app/node_modules'))).toEqual([]);
  });

  it('installs the exact Node that engines.node resolves to, in a layer without the CA', async () => {
    const files = { 'package.json': JSON.stringify({ name: 'pinned', version: '1.0.0', engines: { node: '22.x' } }), 'server.js': server('pinned').replace("require('is-number')", '(n) => n === 5').replace('uid:', 'node: process.version, uid:') };
    const asked: string[] = [];
    const { slug, lines } = await build(files, { nodeVersion: async (range) => (asked.push(range), '22.12.0') });
    expect(asked).toEqual(['22.x']);
    expect(slug.node).toBe('22.12.0');
    expect(lines).toContain('-----> Using Node.js 22.12.0 (engines.node "22.x")');
    expect(await (await fetch(await serve(slug))).json()).toMatchObject({ message: 'pinned', node: 'v22.12.0' });
    expect(execFileSync('docker', ['save', slug.image!], { maxBuffer: 1 << 30 }).includes(MARKER)).toBe(false);
  });

  it('fails a broken npm install with a BuildError quoting npm, and leaves nothing behind', async () => {
    const files = { 'package.json': JSON.stringify({ name: 'broken', version: '1.0.0', dependencies: { 'paas-no-such-package-4d1f0c': '1.0.0' } }), 'server.js': '' };
    const err = await build(files).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BuildError);
    expect((err as Error).message).toMatch(/^npm install failed \(exit code 1\)\. It said:\n.*npm error 404/s);
    // Quoted without the colour codes the classic builder wraps stderr in.
    expect((err as Error).message).not.toContain('\u001b');
    expect((err as Error).message).not.toMatch(/\[\d+m/);
    expect(fs.readdirSync(path.join(work, 'slugs')).filter((id) => id.startsWith(`b${buildNo}-`))).toEqual([]);
    expect((await docker.listImages({ filters: { label: [`paas.app=${APP}`] } })).filter((i) => i.Labels['paas.build']?.startsWith(`b${buildNo}-`))).toEqual([]);
  });

  it('builds a Python app without requirements offline, and a static site', async () => {
    const py = await build({
      'requirements.txt': '',
      'app.py': `import os\nfrom http.server import BaseHTTPRequestHandler, HTTPServer\nclass H(BaseHTTPRequestHandler):\n    def do_GET(self):\n        self.send_response(200); self.end_headers(); self.wfile.write(b"py " + str(os.getuid()).encode())\nHTTPServer(("0.0.0.0", int(os.environ["PORT"])), H).serve_forever()\n`,
    });
    expect(py.slug).toMatchObject({ buildpack: 'Python', processTypes: { web: 'python app.py' } });
    expect(await (await fetch(await serve(py.slug))).text()).toBe(`py ${USER.uid}`);

    const site = await build({ 'index.html': '<h1>static</h1>' });
    expect(site.slug.processTypes.web).toBe('node .paas/static-server.mjs');
    expect(await (await fetch(await serve(site.slug))).text()).toBe('<h1>static</h1>');
  });

  it("builds an app's own Dockerfile: its CMD is web, a Procfile's web wins, and a missing base image is named", async () => {
    const files = {
      Dockerfile: `FROM ${STACK} AS base\nFROM base\nWORKDIR /srv\nCOPY server.js .\nUSER root\nCMD ["node", "server.js"]\n`,
      'server.js': `require('http').createServer((q, s) => s.end('own ' + process.getuid())).listen(process.env.PORT, '0.0.0.0');\n`,
      'app.json': JSON.stringify({ healthchecks: { web: [{ path: '/' }] } }),
    };
    const own = await build(files);
    expect(own.slug).toMatchObject({ buildpack: 'Dockerfile', imageCommand: ['web'], processTypes: { web: 'node server.js' } });
    expect(own.slug.healthchecks?.web).toHaveLength(1);
    expect(Object.keys(own.slug)).not.toContain('user'); // USER root stands in the image; the runtime decides
    expect(own.lines.join('\n')).toContain('USER root');
    expect(await (await fetch(await serve(own.slug))).text()).toBe('own 0');

    const procfile = await build({ ...files, Procfile: 'web: node server.js --from-procfile\n' });
    expect(procfile.slug.imageCommand).toBeUndefined();
    expect(procfile.slug.processTypes.web).toBe('node server.js --from-procfile');

    const missing = await build({ ...files, Dockerfile: 'FROM paas-test/not-on-this-host:1\nCMD ["true"]\n' }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(BuildError);
    expect((missing as Error).message).toContain('not on this host');
    expect((missing as Error).message).toContain(STACK);
  });
});
