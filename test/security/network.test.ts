// Issue 8, network slice: safe listen defaults, the router's failure paths, and a lost store.
// Everything runs for real: the compiled server, git pushes, requests through the router.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crashingApp, slowApp } from '../helpers/fixtures.js';
import { apiCall, gitRepo, type Paas, push, startPaas, tempDir, viaRouter } from '../helpers/paas.js';

interface Outcome {
  status?: number;
  body: string;
  /** Whether the whole body arrived; false when the connection was cut mid-body. */
  complete: boolean;
  error?: string;
}

/** A GET through the router that reports how it ended instead of throwing; given up after `limitMs`. */
function outcome(paas: Paas, host: string, urlPath: string, limitMs = 10_000): Promise<Outcome> {
  return new Promise((resolve) => {
    let body = '';
    const req = http.get({ host: '127.0.0.1', port: paas.routerPort, path: urlPath, headers: { host }, agent: false }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('error', () => undefined);
      res.on('close', () => (clearTimeout(timer), resolve({ status: res.statusCode, body, complete: res.complete })));
    });
    const timer = setTimeout(() => (resolve({ body, complete: false, error: 'no end within the limit' }), req.destroy()), limitMs);
    req.on('error', (err) => (clearTimeout(timer), resolve({ body, complete: false, error: err.message })));
  });
}

/** `pid` and its child processes (the server's router workers), from /proc. */
function withChildren(pid: number): number[] {
  const children = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  return [pid, ...children];
}

/** The TCP sockets the process `pid` and its children listen on, from /proc: the kernel's view, not the banner's. */
function listeningSockets(pid: number): string[] {
  const found = new Set<string>();
  for (const p of withChildren(pid)) for (const s of listeningSocketsOf(p)) found.add(s);
  return [...found].sort();
}

function listeningSocketsOf(pid: number): string[] {
  const inodes = new Set<string>();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    const link = (() => {
      try {
        return fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        return ''; // closed while we looked
      }
    })();
    const m = /^socket:\[(\d+)\]$/.exec(link);
    if (m) inodes.add(m[1]);
  }
  const found: string[] = [];
  for (const table of ['tcp', 'tcp6']) {
    for (const line of fs.readFileSync(`/proc/${pid}/net/${table}`, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== '0A' || !inodes.has(f[9])) continue;
      const [hex, port] = f[1].split(':') as [string, string];
      // /proc prints addresses as host-order 32-bit words.
      const words = hex.match(/.{8}/g)!.map((w) => Buffer.from(w, 'hex').reverse());
      const address = table === 'tcp' ? [...words[0]].join('.') : Buffer.concat(words).toString('hex').replace(/(.{4})(?!$)/g, '$1:');
      found.push(`${address} ${parseInt(port, 16)}`);
    }
  }
  return found.sort();
}

/** Every entry under `dir` with its kind, mode and content hash, to prove a refusal changed nothing. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const name of fs.readdirSync(path.join(dir, rel)).sort()) {
      const r = path.join(rel, name);
      const st = fs.lstatSync(path.join(dir, r));
      if (st.isDirectory()) {
        out[`${r}/`] = `dir ${st.mode}`;
        walk(r);
      } else if (st.isSymbolicLink()) {
        out[r] = `link ${fs.readlinkSync(path.join(dir, r))}`;
      } else {
        out[r] = `file ${st.mode} ${createHash('sha256').update(fs.readFileSync(path.join(dir, r))).digest('hex')}`;
      }
    }
  };
  walk('');
  return out;
}

describe('router failure paths', () => {
  let paas: Paas;
  beforeAll(async () => {
    paas = await startPaas({ PAAS_ROUTER_TIMEOUT_MS: '2000' });
    await apiCall(paas, 'POST', '/v1/apps', { name: 'crashy' });
    const pushed = await push(paas, await gitRepo(paas, crashingApp), 'crashy');
    expect(pushed.code, pushed.stderr).toBe(0);
  });
  afterAll(() => paas?.stop());

  it('bounds a dyno that accepts and never answers with a 503 H12 page', async () => {
    const res = await outcome(paas, 'crashy.localhost', '/silent');
    expect(res.error).toBeUndefined();
    expect(res.status).toBe(503);
    expect(res.body).toContain('H12');
    expect(res.body).toContain('crashy did not start answering in time');
  });

  it('cuts the client off at once when the dyno dies mid-response', async () => {
    const res = await outcome(paas, 'crashy.localhost', '/half');
    expect(res.error ?? '').not.toBe('no end within the limit');
    expect(res.status).toBe(200);
    expect(res.body).toBe('half');
    expect(res.complete).toBe(false);
  });

  it('answers 503 (H13, or H10 after a retry) when the dyno dies before its headers', async () => {
    // The crash above restarts the dyno after a backoff; wait for the new one.
    await expect.poll(async () => (await outcome(paas, 'crashy.localhost', '/')).body, { timeout: 20_000, interval: 200 }).toBe('ok');
    const res = await outcome(paas, 'crashy.localhost', '/die');
    expect(res.status).toBe(503);
    // H13 when the dyno's close ends it; H10 when the request went on a reused connection, so the
    // router tried once more on a fresh one and found the port closed (the dyno is gone).
    expect(res.body).toMatch(/\(H13\)[\s\S]*crashy closed the connection without answering|\(H10\)[\s\S]*crashy has no web dyno up/);
  });

  it('escapes the Host it echoes on the 404 page', async () => {
    const res = await viaRouter(paas, '<script>alert(1)</script>.localhost');
    expect(res.status).toBe(404);
    expect(res.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;.localhost');
    expect(res.body).not.toContain('<script>');
  });
});

describe('listen addresses', () => {
  it('binds API, git and router to 127.0.0.1 when PAAS_BIND_HOST is unset', async () => {
    const paas = await startPaas({ PAAS_BIND_HOST: '' });
    const apiPort = Number(new URL(paas.apiUrl).port);
    expect(paas.output()).toContain(`paas API and git listening on http://127.0.0.1:${apiPort}`);
    expect(paas.output()).toContain(`paas router listening on http://127.0.0.1:${paas.routerPort}`);
    expect(paas.output()).toContain(`paas router listening on https://127.0.0.1:${paas.routerTlsPort} (TLS)`);
    expect(listeningSockets(paas.proc.pid!)).toEqual([`127.0.0.1 ${apiPort}`, `127.0.0.1 ${paas.routerPort}`, `127.0.0.1 ${paas.routerTlsPort}`].sort());
  });

  it('prints an IPv6 bind as [::1]:port, and git pushes work through it', async () => {
    const paas = await startPaas({ PAAS_BIND_HOST: '::1' });
    const apiPort = Number(new URL(paas.apiUrl).port);
    expect(paas.apiUrl).toBe(`http://[::1]:${apiPort}`);
    expect(paas.output()).toContain(`paas router listening on http://[::1]:${paas.routerPort}`);
    const loopback6 = '0000:0000:0000:0000:0000:0000:0000:0001';
    expect(listeningSockets(paas.proc.pid!)).toEqual([`${loopback6} ${apiPort}`, `${loopback6} ${paas.routerPort}`, `${loopback6} ${paas.routerTlsPort}`].sort());
    // A push through the API at the bound address proves it is usable.
    await apiCall(paas, 'POST', '/v1/apps', { name: 'six' });
    const pushed = await push(paas, await gitRepo(paas, slowApp(0, 'six')), 'six');
    expect(pushed.code, pushed.stderr).toBe(0);
  });

  it('says so when a wildcard bind makes the server reachable from other hosts', async () => {
    const paas = await startPaas({ PAAS_BIND_HOST: '0.0.0.0' });
    expect(paas.output()).toMatch(/paas API and git listening on http:\/\/0\.0\.0\.0:\d+ .*reachable from other hosts/);
    expect(paas.output()).toMatch(/paas router listening on https:\/\/0\.0\.0\.0:\d+ .*reachable from other hosts.*\(TLS\)/);
  });
});

describe('a lost store', () => {
  it('is refused, not replaced, when emptied or deleted beside apps, and nothing in the data dir changes', async () => {
    const dataDir = tempDir();
    const paas = await startPaas({ PAAS_DATA_DIR: dataDir });
    await apiCall(paas, 'POST', '/v1/apps', { name: 'precious' });
    const pushed = await push(paas, await gitRepo(paas, slowApp(0, 'precious')), 'precious');
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(await paas.stop()).toBe(0);
    const db = path.join(dataDir, 'paas.db');

    fs.truncateSync(db, 0);
    let before = snapshot(dataDir);
    await expect(startPaas({ PAAS_DATA_DIR: dataDir })).rejects.toThrow(
      /exited with 1 before listening.*The store .*paas\.db is empty, but .* holds apps' data.*Restore .*paas\.db from a backup.*start clean/s,
    );
    expect(snapshot(dataDir)).toEqual(before);

    fs.rmSync(db);
    before = snapshot(dataDir);
    await expect(startPaas({ PAAS_DATA_DIR: dataDir })).rejects.toThrow(/exited with 1 before listening.*The store .*paas\.db is missing, but/s);
    expect(snapshot(dataDir)).toEqual(before);
  });

  it('still starts fresh in a new or empty data dir', async () => {
    for (const dataDir of [tempDir(), path.join(tempDir(), 'not-yet')]) {
      const paas = await startPaas({ PAAS_DATA_DIR: dataDir });
      expect((await apiCall(paas, 'GET', '/v1/apps')).json).toEqual([]);
    }
  });
});
