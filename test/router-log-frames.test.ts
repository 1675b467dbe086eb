// A router's request log on the route stream: log frames (binary, pre-joined lines) to a control
// plane whose snapshot lists `log-frames`, the JSON `logs` message to one that does not (an older
// server), and lines filed exactly as the JSON path files them: same app, source, time and line.
import http from 'node:http';
import type net from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { LOG_FRAMES, logFrameLine, PROTOCOL_VERSION, readLogFrame, type RouterLogLine, type ServerMessage, STREAM_PATH } from '../router/protocol.js';
import { RouteTable } from '../router/route-table.js';
import { StreamClient } from '../router/stream-client.js';
import { Routes } from '../server/dynos/routes.js';
import { RouteStream } from '../server/http/route-stream.js';
import { AppLogs } from '../server/logs/pipeline.js';
import { onCleanup } from './helpers/cleanup.js';

const TOKEN = 'log-frames-token';

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  onCleanup(() => new Promise<void>((r) => server.close(() => r())));
  return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

/** A real RouteStream knowing `apps`; `filed` gets what it appends to the apps' logs, and `said` its own log. */
async function controlPlane(apps: string[]): Promise<{ apiUrl: string; filed: (RouterLogLine & { source: string })[]; said: string[] }> {
  const routes = new Routes();
  for (const app of apps) routes.addApp(app);
  const filed: (RouterLogLine & { source: string })[] = [];
  const said: string[] = [];
  const stream = new RouteStream({ routes, token: TOKEN, domain: 'example.test', logs: { appendAll: (source, entries) => entries.forEach((e) => filed.push({ source, ...e })) }, log: (l) => said.push(l) });
  onCleanup(() => stream.close());
  const server = http.createServer((_req, res) => res.end());
  server.on('upgrade', stream.handleUpgrade);
  return { apiUrl: await listen(server), filed, said };
}

/**
 * A control plane that records what routers send: without `features`, one of the version before
 * log frames, whose snapshot lists none.
 */
async function recordingControlPlane(features?: string[]): Promise<{ apiUrl: string; text: unknown[]; binary: number; framed: RouterLogLine[] }> {
  const got = { text: [] as unknown[], binary: 0, framed: [] as RouterLogLine[] };
  const wss = new WebSocketServer({ noServer: true });
  const server = http.createServer((_req, res) => res.end());
  server.on('upgrade', (req, socket, head) =>
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.send(JSON.stringify({ type: 'snapshot', version: PROTOCOL_VERSION, domain: 'example.test', apps: [], ...(features ? { features } : {}) } satisfies ServerMessage));
      ws.on('message', (data, isBinary) => {
        if (!isBinary) return void got.text.push(JSON.parse(data.toString()));
        got.binary++;
        got.framed.push(...readLogFrame(data.toString()));
      });
    }),
  );
  onCleanup(() => {
    for (const ws of wss.clients) ws.terminate();
  });
  return Object.assign(got, { apiUrl: await listen(server) });
}

function router(apiUrl: string): StreamClient {
  const client = new StreamClient({ apiUrl, token: TOKEN, table: new RouteTable(), drain: () => Promise.resolve(0) });
  onCleanup(() => client.close());
  return client;
}

const LINE = 'at=info method=GET path="/a b?q=\\"x\\"" host=web.example.test request_id=r1 fwd="127.0.0.1" dyno=web.1 connect=0ms service=3ms status=200 bytes=12 protocol=http';

describe('router log frames', () => {
  it('a frame reads back as the lines that made it; lines missing a field are skipped', () => {
    const text = logFrameLine('web', LINE, 1765000000123) + logFrameLine('other', 'x y  z', 5) + 'no-fields\n' + '12 onlyapp\n' + logFrameLine('web', '', 7);
    expect(readLogFrame(text)).toEqual([
      { app: 'web', line: LINE, time: 1765000000123 },
      { app: 'other', line: 'x y  z', time: 5 },
      { app: 'web', line: '', time: 7 },
    ]);
    expect(readLogFrame('')).toEqual([]);
    expect(readLogFrame('abc web x')[0].time).toBeNaN();
  });

  it('a router sends log frames to a control plane that takes them, and the lines are filed as the JSON message files them', async () => {
    const cp = await controlPlane(['web', 'other']);
    const client = router(cp.apiUrl);
    const now = Date.now();
    const lines = [
      { app: 'web', line: LINE, time: now - 5 },
      { app: 'other', line: 'at=error code=H12 desc="Request timeout" path="/é"', time: now - 3 },
      { app: 'ghost', line: 'an app the control plane does not know', time: now },
      { app: 'web', line: 'a clock far off', time: now - 3_600_000 },
    ];
    for (const l of lines) client.log(l.app, l.line, l.time);
    client.start();
    await vi.waitFor(() => expect(cp.filed).toHaveLength(3));

    // The same lines in the JSON message an older router sends, to another control plane.
    const json = await controlPlane(['web', 'other']);
    const ws = new WebSocket(`${json.apiUrl.replace('http', 'ws')}${STREAM_PATH}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    onCleanup(() => ws.terminate());
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ type: 'logs', lines }));
    await vi.waitFor(() => expect(json.filed).toHaveLength(3));

    expect(cp.filed).toEqual(json.filed);
    expect(cp.filed).toEqual([
      { source: 'router', app: 'web', line: LINE, time: now - 5 },
      { source: 'router', app: 'other', line: lines[1].line, time: now - 3 },
      { source: 'router', app: 'web', line: 'a clock far off', time: undefined },
    ]);
  });

  it('a control plane drops control characters from a frame, and takes it from any router whatever it holds', async () => {
    const cp = await controlPlane(['web']);
    const ws = new WebSocket(`${cp.apiUrl.replace('http', 'ws')}${STREAM_PATH}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    onCleanup(() => ws.terminate());
    await new Promise((r) => ws.once('open', r));
    const time = Date.now();
    ws.send(Buffer.from(`${time} web a\x1b[2Jb\r\x00c\n\n${time} web second\nnonsense\n${time} ghost x\n${time} web ${'y'.repeat(20_000)}`), { binary: true });
    await vi.waitFor(() => expect(cp.filed).toHaveLength(3));
    expect(cp.filed.slice(0, 2)).toEqual([
      { source: 'router', app: 'web', line: 'a[2Jbc', time },
      { source: 'router', app: 'web', line: 'second', time },
    ]);
    expect(cp.filed[2].line).toHaveLength(10_000);
  });

  it("the server's stdout and an app's history get the same from a frame as from the JSON message, C1 escaped on stdout", async () => {
    const time = Date.now();
    const lines = [`path="/caf\xe9"`, `path="/\x85x"`, 'at=info status=200'];
    const filed = async (send: (ws: WebSocket) => void) => {
      const routes = new Routes();
      routes.addApp('web');
      let out = '';
      const logs = new AppLogs({ out: (t) => (out += t) });
      const stream = new RouteStream({ routes, token: TOKEN, domain: 'example.test', logs, log: () => undefined });
      onCleanup(() => stream.close());
      const server = http.createServer((_req, res) => res.end());
      server.on('upgrade', stream.handleUpgrade);
      const ws = new WebSocket(`${(await listen(server)).replace('http', 'ws')}${STREAM_PATH}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      onCleanup(() => ws.terminate());
      await new Promise((r) => ws.once('open', r));
      send(ws);
      await vi.waitFor(() => expect(out.split('\n')).toHaveLength(4));
      return { out, history: logs.recent('web', 10) };
    };
    const frame = await filed((ws) => ws.send(Buffer.from(lines.map((l) => logFrameLine('web', l, time)).join('')), { binary: true }));
    const json = await filed((ws) => ws.send(JSON.stringify({ type: 'logs', lines: lines.map((line) => ({ app: 'web', line, time })) })));
    expect(frame).toEqual(json);
    expect(frame.out).toContain('web router: path="/\\x85x"\n');
    expect(frame.history.map((l) => l.line)).toEqual(lines);
  });

  it('a router logs to an older control plane with the JSON message, and reports lines it had to drop', async () => {
    const old = await recordingControlPlane();
    const client = router(old.apiUrl);
    // More than the router keeps while the stream is away (10,000): the rest are counted as dropped.
    for (let i = 0; i < 10_005; i++) client.log('web', `line ${i}`, 1000 + i);
    client.start();
    const logs = () => old.text.filter((m): m is { type: 'logs'; lines: RouterLogLine[]; dropped?: number } => (m as { type?: string }).type === 'logs');
    await vi.waitFor(() => expect(logs().flatMap((m) => m.lines)).toHaveLength(10_000), { timeout: 10_000 });
    const all = logs().flatMap((m) => m.lines);
    expect(all[0]).toEqual({ app: 'web', line: 'line 0', time: 1000 });
    expect(all.at(-1)).toEqual({ app: 'web', line: 'line 9999', time: 10_999 });
    expect(Math.max(...logs().map((m) => m.lines.length))).toBe(500);
    expect(logs().reduce((n, m) => n + (m.dropped ?? 0), 0)).toBe(5);
    expect(old.binary).toBe(0);
  });

  it('a router sends no JSON log lines to a control plane that takes frames', async () => {
    const cp = await recordingControlPlane([LOG_FRAMES]);
    const client = router(cp.apiUrl);
    for (let i = 0; i < 1200; i++) client.log('web', `line ${i}`, 1000 + i);
    client.start();
    // 500 lines a frame.
    await vi.waitFor(() => expect(cp.binary).toBe(3));
    expect(cp.text).toEqual([]);
    expect(cp.framed.map((l) => l.line)).toEqual(Array.from({ length: 1200 }, (_, i) => `line ${i}`));
  });

  it('a router frames any line whole and in order: non-ASCII, and longer than a batch buffer holds', async () => {
    const cp = await recordingControlPlane([LOG_FRAMES]);
    const client = router(cp.apiUrl);
    const lines = ['path="/caf\xe9 \u2028 \u{1f600}"', 'x'.repeat(50_000), 'after', 'y'.repeat(200_000), 'last'];
    for (const [i, line] of lines.entries()) client.log('web', line, i);
    client.start();
    await vi.waitFor(() => expect(cp.framed).toHaveLength(lines.length));
    expect(cp.framed).toEqual(lines.map((line, time) => ({ app: 'web', line, time })));
  });

  it('a router reports dropped lines to a control plane that takes frames too', async () => {
    const cp = await controlPlane(['web']);
    const client = router(cp.apiUrl);
    for (let i = 0; i < 10_003; i++) client.log('web', `line ${i}`, Date.now());
    client.start();
    await vi.waitFor(() => expect(cp.filed).toHaveLength(10_000), { timeout: 10_000 });
    expect(cp.filed.at(-1)?.line).toBe('line 9999');
    await vi.waitFor(() => expect(cp.said.join('\n')).toMatch(/Error L10 \(output buffer overflow\): 3 router log line/));
  });

  it('the snapshot lists log frames', async () => {
    const cp = await controlPlane([]);
    const ws = new WebSocket(`${cp.apiUrl.replace('http', 'ws')}${STREAM_PATH}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    onCleanup(() => ws.terminate());
    const first = await new Promise<ServerMessage>((r) => ws.once('message', (d) => r(JSON.parse(d.toString()) as ServerMessage)));
    expect(first).toMatchObject({ type: 'snapshot', features: [LOG_FRAMES] });
  });
});
