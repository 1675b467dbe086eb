// Log tails' server side in-process (server/logs/tail.ts behind server/upgrades.ts), with real
// websockets over loopback and the real pipeline: who may tail, history then live lines, filters,
// and a reader that stops reading, which loses lines with an L10 notice while appending runs on.
import http from 'node:http';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { NotFoundError } from '../lib/errors.js';
import { AppLogs } from '../server/logs/pipeline.js';
import { LogTails, TAIL_PATH } from '../server/http/log-tail.js';
import { upgradeDispatcher } from '../server/http/upgrades.js';
import { refusal } from './helpers/ws.js';

const TOKEN = 'tail-test-token';
type Wire = { time: string; source: string; line: string };

function open(port: number, query: string, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }): Promise<{ ws: WebSocket; got: Wire[] }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/apps/shop/logs/stream${query}`, { headers });
  const got: Wire[] = [];
  ws.on('message', (data) => got.push(...(JSON.parse(data.toString()) as Wire[])));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, got }));
    ws.once('error', reject);
  });
}

/** A refused upgrade, with the token unless told otherwise, and its JSON body. */
async function refused(port: number, path: string, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }): Promise<{ status: number; body: { id: string; message: string } }> {
  const r = await refusal(port, path, headers);
  return { status: r.status, body: JSON.parse(r.body) as { id: string; message: string } };
}

describe('log tails', () => {
  let logs: AppLogs;
  let tails: LogTails;
  let server: http.Server;
  let port: number;

  async function serve(opts: { maxQueue?: number; maxBufferedBytes?: number } = {}): Promise<void> {
    logs = new AppLogs({ out: () => undefined, limit: 50 });
    tails = new LogTails({
      logs,
      authority: { token: TOKEN, session: () => undefined },
      requireApp: (name) => {
        if (name !== 'shop') throw new NotFoundError(`Couldn't find that app (${name}).`);
        return name;
      },
      ...opts,
    });
    server = http.createServer((_req, res) => res.end('plain'));
    server.on('upgrade', upgradeDispatcher([{ path: TAIL_PATH, handle: tails.handleUpgrade }]));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  }

  beforeEach(() => serve());
  afterEach(async () => {
    await tails.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('refuses without the token, from a browser, for an unknown app or path, and bad parameters', async () => {
    expect((await refused(port, '/v1/apps/shop/logs/stream', {})).status).toBe(401);
    expect((await refused(port, '/v1/apps/shop/logs/stream', { authorization: `Bearer ${TOKEN}`, origin: 'http://evil.test' })).status).toBe(403);
    const ghost = await refused(port, '/v1/apps/ghost/logs/stream');
    expect(ghost.status).toBe(404);
    expect(ghost.body.id).toBe('not_found');
    expect((await refused(port, '/v1/elsewhere')).status).toBe(404);
    for (const query of ['ps=WEB!', 'source=dyno', 'lines=51', 'lines=-1', 'since=yesterday']) {
      const r = await refused(port, `/v1/apps/shop/logs/stream?${query}`);
      expect(r.status, query).toBe(422);
      expect(r.body.message).toMatch(/must be/);
    }
    expect((await refused(port, '/v1/apps/%E0%A4%A/logs/stream')).status).toBe(400);
  });

  it('sends the last matching lines of the history, then live lines, filtered by dyno, type and source', async () => {
    logs.append('shop', 'app[web.1]', 'old web.1');
    logs.append('shop', 'app[web.2]', 'old web.2');
    logs.append('shop', 'router', 'at=info old');
    const all = await open(port, '?lines=2');
    const dyno = await open(port, '?ps=web.1&lines=10');
    const type = await open(port, '?ps=web&source=app&lines=10');
    const router = await open(port, '?source=router&lines=0');
    const paas = await open(port, '?source=paas&lines=0');
    logs.append('shop', 'app[web.1]', 'new web.1');
    logs.append('shop', 'paas[web.1]', 'State changed from starting to up');
    logs.append('shop', 'app[worker.1]', 'new worker.1');
    logs.append('shop', 'router', 'at=info new');
    logs.append('shop', 'app[web.10]', 'new web.10');
    const lines = (t: { got: Wire[] }) => t.got.map((l) => l.line);
    await vi.waitFor(() => expect(all.got).toHaveLength(7));
    expect(lines(all)).toEqual(['old web.2', 'at=info old', 'new web.1', 'State changed from starting to up', 'new worker.1', 'at=info new', 'new web.10']);
    expect(all.got[0].source).toBe('app[web.2]');
    expect(all.got[0].time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    await vi.waitFor(() => expect(lines(type)).toEqual(['old web.1', 'old web.2', 'new web.1', 'new web.10']));
    expect(lines(dyno)).toEqual(['old web.1', 'new web.1', 'State changed from starting to up']);
    expect(lines(router)).toEqual(['at=info new']);
    expect(lines(paas)).toEqual(['State changed from starting to up']);
  });

  it('after a reconnect, sends the history since the last time seen', async () => {
    logs.append('shop', 'app[web.1]', 'one');
    const first = await open(port, '?lines=1');
    await vi.waitFor(() => expect(first.got).toHaveLength(1));
    first.ws.close();
    logs.append('shop', 'app[web.1]', 'two');
    const again = await open(port, `?since=${first.got[0].time}`);
    await vi.waitFor(() => expect(again.got.map((l) => l.line)).toEqual(['one', 'two']));
  });

  it('closes tails with 1001 when the server shuts down', async () => {
    const t = await open(port, '?lines=0');
    const closed = new Promise<number>((r) => t.ws.once('close', (code) => r(code)));
    await tails.close();
    expect(await closed).toBe(1001);
  });

  it('gives a reader that stops reading an L10 notice, with its queue and socket buffer bounded, while appending runs on', async () => {
    await tails.close();
    await new Promise((r) => server.close(r));
    const maxQueue = 1000;
    await serve({ maxQueue, maxBufferedBytes: 64 * 1024 });
    const slow = await open(port, '?lines=0');
    // The reader stops reading: the kernel's buffers fill, then the server's socket buffer, then the queue.
    (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
    const sub = [...(tails as unknown as { tails: Set<{ sub: { pending: number }; ws: WebSocket }> }).tails][0];
    let maxPending = 0;
    let maxBuffered = 0;
    const line = 'x'.repeat(200);
    const started = performance.now();
    let appended = 0;
    // 200,000 lines (40 MB), in slices, so the server's event loop turns and the socket fills as in a real server.
    for (let round = 0; round < 200; round++) {
      for (let i = 0; i < 1000; i++) logs.append('shop', 'app[web.1]', `${appended++} ${line}`);
      maxPending = Math.max(maxPending, sub.sub.pending);
      maxBuffered = Math.max(maxBuffered, sub.ws.bufferedAmount);
      await new Promise((r) => setImmediate(r));
    }
    const elapsed = performance.now() - started;
    expect(maxPending).toBeLessThanOrEqual(maxQueue + 1);
    // The socket holds at most its bound and one batch (the queue) beyond.
    expect(maxBuffered).toBeLessThan(64 * 1024 + maxQueue * 300);
    // Appending never waited on the reader: 200,000 lines in well under the time a blocked writer would take.
    expect(elapsed).toBeLessThan(10_000);
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    await vi.waitFor(() => expect(slow.got.some((l) => /^Error L10 \(output buffer overflow\): \d+ messages dropped since /.test(l.line))).toBe(true), { timeout: 20_000 });
    expect(slow.got.length).toBeLessThan(appended);
    // Once it reads again, it gets new lines again.
    logs.append('shop', 'app[web.1]', 'caught up');
    await vi.waitFor(() => expect(slow.got.at(-1)?.line).toBe('caught up'), { timeout: 20_000 });
  });
});
