// Issue 8, "pushed trees stay inside": no symbolic link in a pushed tree, however chained, makes the
// platform read or write outside the app, at build time or when it serves a static site.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { nodeApp, staticSite } from '../helpers/fixtures.js';
import { apiCall, commitFiles, createApp, gitRepo, type Paas, push, ROOT, type Result, spawnChild, startPaas, tempDir, viaRouter } from '../helpers/paas.js';
import { webDynoAddress } from '../helpers/store.js';

let paas: Paas;
// Stopped when the file ends, pass or fail: startPaas registers that itself.
beforeAll(async () => {
  paas = await startPaas({ PAAS_BOOT_TIMEOUT_MS: '8000' });
});

/** A repository with `files` and the symbolic links `links` (path -> target) committed. */
async function repoWith(files: Record<string, string>, links: Record<string, string>): Promise<string> {
  const dir = await gitRepo(paas, files);
  for (const [name, target] of Object.entries(links)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.symlinkSync(target, path.join(dir, name));
  }
  await commitFiles(paas, dir, {}, 'links');
  return dir;
}

// Every link below looks inside on its own (node-tar checks that, lexically), yet `top` is the
// tree's root, so `..` after it climbs out: a link to `${DEEP}/top/../../…/<abs path>` reaches
// <abs path> on the host. Ten levels is deeper than any data dir the tests use.
const DEEP = 'a/b/c/d/e/f/g/h/i/j';
const UP = Array(10).fill('..').join('/');
const climbFiles = { [`${DEEP}/keep.txt`]: 'keeps the directories in git\n' };
const climbLinks = { [`${DEEP}/top`]: UP };
/** A target that reads as `a/<abs path>` but resolves to the host's <abs path>. */
function climbTo(abs: string): string {
  return `${DEEP}/top/${UP}${abs}`;
}

/** Neither the server's token nor any other piece of its environment reached the pusher. */
function expectNoServerEnv(r: Result): void {
  const out = r.stdout + r.stderr;
  expect(out).not.toContain(paas.token);
  expect(out).not.toContain('PAAS_DATA_DIR');
}

function slugCount(): number {
  return fs.readdirSync(path.join(paas.dataDir, 'slugs')).length;
}

/** A directory outside the data dir that a followed link would write into. */
function outsideDir(): string {
  return tempDir('paas-outside-');
}

describe('a pushed tree is checked at unpack', () => {
  it('refuses links that chain outward, naming each, and never shows the server environment', async () => {
    await createApp(paas, 'chains');
    const slugs = slugCount();
    const dir = await repoWith(
      { ...staticSite, ...climbFiles },
      {
        ...climbLinks,
        Procfile: climbTo('/proc/self/environ'),
        y: '.', // inside on its own…
        x: 'y/../etc', // …and so is this, read lexically; followed through y it is ../etc
        'deep/up': '..',
        'deep/out': 'up/../etc',
        'loop/a': 'b',
        'loop/b': 'a',
      },
    );
    const r = await push(paas, dir, 'chains');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('[remote rejected]');
    expect(r.stderr).toContain(`\`Procfile\` -> \`${climbTo('/proc/self/environ')}\` (leads outside the repository)`);
    expect(r.stderr).toContain('`x` -> `y/../etc` (leads outside');
    expect(r.stderr).toContain('`deep/out` -> `up/../etc` (leads outside');
    expect(r.stderr).toContain('`loop/a` -> `b` (loops, or chains through more than 40 links)');
    for (const inside of ['y', 'deep/up', `${DEEP}/top`]) expect(r.stderr).not.toContain(`\`${inside}\` ->`);
    expectNoServerEnv(r);
    expect(slugCount()).toBe(slugs);
  });

  it('accepts link chains that stay inside and serves through them, on loopback only', async () => {
    await createApp(paas, 'inside');
    const dir = await repoWith(
      { ...staticSite, 'docs/page.html': '<p>the page</p>\n' },
      { here: '.', alias: 'here/docs', latest: 'alias/page.html', 'docs/back': '../docs/page.html' },
    );
    const r = await push(paas, dir, 'inside');
    expect(r.code, r.stderr).toBe(0);
    for (const p of ['/latest', '/alias/page.html', '/docs/back', '/here/here/docs/page.html']) {
      const res = await viaRouter(paas, 'inside.localhost', p);
      expect([p, res.status, res.body]).toEqual([p, 200, '<p>the page</p>\n']);
    }
    // The dyno listens where the router reaches it (127.0.0.1, or its app network's address), not on
    // every address of the host: a wildcard bind on the host would also accept on 127.0.0.2.
    const address = webDynoAddress(paas.dataDir, 'inside');
    const host = address.slice(0, address.lastIndexOf(':'));
    const port = Number(address.slice(address.lastIndexOf(':') + 1));
    expect(await connects(host, port)).toBe(true);
    expect(await connects('127.0.0.2', port)).toBe(false);
    if (host !== '127.0.0.1') expect(await connects('127.0.0.1', port)).toBe(false);
  });

  it('refuses a pushed .paas, as a link out or in, and writes nothing outside', async () => {
    await createApp(paas, 'reserved');
    const slugs = slugCount();
    const outside = outsideDir();
    const out = await push(paas, await repoWith({ ...staticSite, ...climbFiles }, { ...climbLinks, '.paas': climbTo(outside) }), 'reserved');
    expect(out.code).not.toBe(0);
    expect(out.stderr).toContain('`.paas` (a name paas reserves');
    expect(fs.readdirSync(outside)).toEqual([]);

    const inside = await push(paas, await repoWith(staticSite, { '.paas': 'css' }), 'reserved');
    expect(inside.code).not.toBe(0);
    expect(inside.stderr).toContain('`.paas` (a name paas reserves');
    expect(slugCount()).toBe(slugs); // refused builds leave nothing behind either
  });

  it('refuses a static site with a link to a host file', async () => {
    await createApp(paas, 'static-out');
    const links = { ...climbLinks, 'css/passwd': `../${climbTo('/etc/passwd')}`, 'css/abs': '/etc/passwd', 'css/up': '../../etc/passwd' };
    const r = await push(paas, await repoWith({ ...staticSite, ...climbFiles }, links), 'static-out');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`\`css/passwd\` -> \`../${climbTo('/etc/passwd')}\` (leads outside the repository)`);
    expect(r.stderr).toContain('`css/abs` -> `/etc/passwd` (leads outside the repository)');
    expect(r.stderr).toContain('`css/up` -> `../../etc/passwd` (leads outside the repository)');
    expect(r.stderr).not.toContain('root:');
  });
});

/** A Node app whose `npm run build` runs `script` (CommonJS) in the app's tree. */
function buildScriptApp(script: string): Record<string, string> {
  const app = nodeApp('built');
  const pkg = { ...JSON.parse(app['package.json']), scripts: { start: 'node server.js', build: 'node build.js' } };
  return { ...app, 'package.json': JSON.stringify(pkg), 'build.js': `const fs = require('fs');\n${script}\n` };
}

describe('what app code does to its tree during the build', () => {
  it('a Procfile turned into a link to /proc/self/environ fails the push without showing it', async () => {
    await createApp(paas, 'swap-procfile');
    const outside = outsideDir();
    const app = buildScriptApp(
      `fs.rmSync('Procfile', { force: true }); fs.symlinkSync('/proc/self/environ', 'Procfile');\n` +
        `fs.rmSync('.paas', { recursive: true, force: true }); fs.symlinkSync(${JSON.stringify(outside)}, '.paas');`,
    );
    const r = await push(paas, await gitRepo(paas, { ...app, Procfile: 'web: node server.js\n' }), 'swap-procfile');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('Procfile is a symbolic link; paas only reads it as a regular file');
    expectNoServerEnv(r);
    expect(fs.readdirSync(outside)).toEqual([]);
  });

  it('a .paas link made by a build script is never written through', async () => {
    await createApp(paas, 'swap-paas');
    const outside = outsideDir();
    // paas keeps the build's package cache in .paas: the build script swaps it for a link out.
    const app = buildScriptApp(`fs.rmSync('.paas', { recursive: true, force: true }); fs.symlinkSync(${JSON.stringify(outside)}, '.paas');`);
    const r = await push(paas, await gitRepo(paas, app), 'swap-paas');
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readdirSync(outside)).toEqual([]);
    expect(JSON.parse((await viaRouter(paas, 'swap-paas.localhost')).body).message).toBe('built');
  });

  it('control-file errors quote no more than a short excerpt', async () => {
    await createApp(paas, 'bad-control');
    const secret = 'SECRET-do-not-echo-0123456789';
    const proc = await push(paas, await gitRepo(paas, { Procfile: `this line is not a process type ${secret}\n` }), 'bad-control');
    expect(proc.code).not.toBe(0);
    expect(proc.stderr).toContain('Procfile line 1 is not `type: command`');
    expect(proc.stderr).not.toContain(secret.slice(0, 12));

    const pkg = await push(paas, await gitRepo(paas, { 'package.json': `{ "name": "x", "k": v${secret} }` }), 'bad-control');
    expect(pkg.code).not.toBe(0);
    expect(pkg.stderr).toContain("package.json line 1, column 21: unexpected 'v'. Fix it and push again.");
    expect(pkg.stderr).not.toContain(secret.slice(0, 6));
  });
});

describe('the slug layout', () => {
  it('runs slugs made before the metadata moved out of the tree, and destroy removes both kinds', async () => {
    const dataDir = tempDir('paas-data-');
    const first = await startPaas({ PAAS_DATA_DIR: dataDir });
    expect((await apiCall(first, 'POST', '/v1/apps', { name: 'legacy' })).status).toBe(201);
    const repo = await gitRepo(first, nodeApp('old layout'));
    expect((await push(first, repo, 'legacy')).code).toBe(0);
    await first.stop();
    // Rewrite the slug as older versions made it: the tree in the build dir, metadata in its .paas/.
    const slugs = path.join(dataDir, 'slugs');
    const home = path.join(slugs, fs.readdirSync(slugs)[0]);
    const meta = JSON.parse(fs.readFileSync(path.join(home, 'slug.json'), 'utf8'));
    fs.rmSync(path.join(home, 'slug.json'));
    for (const name of fs.readdirSync(path.join(home, 'app'))) fs.renameSync(path.join(home, 'app', name), path.join(home, name));
    fs.rmdirSync(path.join(home, 'app'));
    fs.mkdirSync(path.join(home, '.paas'));
    fs.writeFileSync(path.join(home, '.paas', 'slug.json'), JSON.stringify({ ...meta, dir: home }));

    const second = await startPaas({ PAAS_DATA_DIR: dataDir, PAAS_API_TOKEN: first.token });
    await expect.poll(async () => (await viaRouter(second, 'legacy.localhost')).status, { timeout: 10_000, interval: 100 }).toBe(200);
    expect(JSON.parse((await viaRouter(second, 'legacy.localhost')).body).message).toBe('old layout');
    await commitFiles(second, repo, nodeApp('new layout'));
    const again = await push(second, repo, 'legacy');
    expect(again.code, again.stderr).toBe(0);
    expect(fs.readdirSync(slugs)).toHaveLength(2);
    expect((await apiCall(second, 'DELETE', '/v1/apps/legacy')).status).toBeLessThan(300);
    expect(fs.readdirSync(slugs)).toEqual([]);
  });
});

describe('the static server', () => {
  it('never serves a file whose real path leaves its root', async () => {
    // Pushes cannot make such links any more, so run the compiled server on a tree made here.
    const outside = outsideDir();
    fs.writeFileSync(path.join(outside, 'secret.txt'), 'host secret\n');
    const root = path.join(outside, 'site');
    fs.mkdirSync(root);
    fs.writeFileSync(path.join(root, 'index.html'), 'home\n');
    fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(root, 'file-out.txt'));
    fs.symlinkSync('..', path.join(root, 'dir-out'));
    // Killed when the test ends (spawnChild), pass or fail.
    const child = spawnChild(process.execPath, [path.join(ROOT, 'dist/builder/static-server.js')], {
      cwd: root,
      env: { PORT: '0', PATH: process.env.PATH! },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    // Waits on the server's own words, or its exit.
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        const m = /listening on 127\.0\.0\.1:(\d+)/.exec((out += String(d)));
        if (m) resolve(Number(m[1]));
      });
      child.on('exit', (code) => reject(new Error(`static server exited with ${code} before listening: ${out}`)));
    });
    expect(await get(port, '/')).toEqual({ status: 200, body: 'home\n' });
    for (const p of ['/file-out.txt', '/dir-out/secret.txt', '/../secret.txt', '/%2e%2e/secret.txt']) {
      expect([p, (await get(port, p)).status]).toEqual([p, 404]);
    }
  });
});

function get(port: number, urlPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('static server request timed out')));
  });
}

function connects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    sock.setTimeout(5000, () => (sock.destroy(), resolve(false)));
    sock.once('connect', () => (sock.destroy(), resolve(true)));
    sock.once('error', () => resolve(false));
  });
}

describe('what install scripts leave behind', () => {
  it('a fifo in node_modules leaves the build uncached, never failed or littered', async () => {
    await createApp(paas, 'fifo-app');
    // No lockfile and no dependencies: `npm install` keeps the dot directory heroku-prebuild made, and
    // the install is cached (an install script of the app's own would make it run every time instead).
    const files = nodeApp('fifo');
    delete files['package-lock.json'];
    const pkg = JSON.parse(files['package.json']);
    pkg.scripts['heroku-prebuild'] = 'mkdir -p node_modules/.cache && mkfifo node_modules/.cache/pipe';
    const r = await push(paas, await gitRepo(paas, { ...files, 'package.json': JSON.stringify(pkg) }), 'fifo-app');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('Not caching node_modules');
    expect(JSON.parse((await viaRouter(paas, 'fifo-app.localhost')).body).message).toBe('fifo');
    const cache = path.join(paas.dataDir, 'cache', 'fifo-app');
    expect(fs.existsSync(cache) ? fs.readdirSync(cache).filter((n) => n.includes('.tmp-')) : []).toEqual([]);
  });
});
