// `paas logs` and `paas logs --tail` end to end: a real server, real dynos printing lines, the real
// CLI following them over the API's websocket, with filters, JSON, and a control-plane restart the
// tail lives through (it says so on stderr), and a history that survives both that restart and a deploy.
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { escapeControls } from '../lib/control-chars.js';
import { interrupt, tail } from './helpers/log-tail.js';
import { cli, commitFiles, createApp, gitRepo, type Paas, push, startPaas, viaRouter } from './helpers/paas.js';

let paas: Paas;
/** The app's checkout: a later test commits a change to it and pushes again. */
let repo: string;
const APP = 'chatty';

/** A web dyno and a worker that each print a numbered line every 100 ms. */
const chattyApp: Record<string, string> = {
  Procfile: 'web: exec node server.js\nworker: exec node worker.js\n',
  'server.js': `let n = 0;
setInterval(() => console.log('web tick ' + n++ + ' ' + process.env.DYNO), 100);
// /flood?n=N prints N lines as fast as it can and answers once it has: console.log to a pipe
// queues in the process when the pipe is full, so this writes until the pipe took every byte.
function print(text) {
  let b = Buffer.from(text);
  while (b.length) {
    try { b = b.subarray(require('fs').writeSync(1, b)); } catch (e) { if (e.code !== 'EAGAIN') throw e; }
  }
}
require('http').createServer((q, s) => {
  // /escapes prints a line full of terminal controls: ESC sequences, BEL, CR, DEL, a C1 CSI, and a tab.
  if (q.url === '/escapes') { console.log('ctl \\x1b[2J\\x1b]0;owned\\x07 cr\\r del\\x7f c1\\u009b31m tab\\tend'); return s.end('ok'); }
  const n = Number(new URL(q.url, 'http://x').searchParams.get('n') || 0);
  for (let i = 0; i < n; i += 100) print(Array.from({ length: 100 }, (_, j) => 'flood ' + (i + j) + ' ' + 'x'.repeat(1000) + '\\n').join(''));
  s.end(String(n));
}).listen(process.env.PORT);
process.on('SIGTERM', () => process.exit(0));
`,
  'worker.js': "let n = 0;\nsetInterval(() => console.log('worker tick ' + n++ + ' ' + process.env.DYNO), 100);\nprocess.on('SIGTERM', () => process.exit(0));\n",
};

const lines = (text: string) => text.split('\n').filter(Boolean);

beforeAll(async () => {
  // The server prints every line it logs; a test that floods keeps only the end of it.
  paas = await startPaas({}, { outputLimit: 1_000_000 });
  await createApp(paas, APP);
  repo = await gitRepo(paas, chattyApp);
  const pushed = await push(paas, repo, APP);
  expect(pushed.code, pushed.stderr).toBe(0);
  const scaled = await cli(paas, ['ps:scale', 'worker=1', '-a', APP]);
  expect(scaled.code, scaled.stderr).toBe(0);
});

describe('paas logs --tail', () => {
  it('shows a line a dyno prints while it runs, and ends with 0 on Ctrl-C', async () => {
    const t = tail(paas, APP, ['-n', '1']);
    await vi.waitFor(() => expect(t.stdout()).toMatch(/^\S+Z app\[web\.1\]: web tick \d+ web\.1$/m), { timeout: 15_000 });
    const seen = /web tick (\d+)/.exec(t.stdout())![1];
    // A later line than any in the history it started with: a live one.
    await vi.waitFor(() => expect(t.stdout()).toMatch(new RegExp(`web tick ${Number(seen) + 2} `)), { timeout: 15_000 });
    expect(t.stderr()).toBe('');
    await interrupt(t);
  });

  it('filters by dyno, by process type and by source', async () => {
    const web1 = tail(paas, APP, ['--ps', 'web.1', '-n', '20']);
    const worker = tail(paas, APP, ['--ps', 'worker', '-n', '20']);
    const router = tail(paas, APP, ['--source', 'router', '-n', '1']);
    const platform = tail(paas, APP, ['--source', 'paas', '-n', '1500']);
    await vi.waitFor(() => expect(lines(worker.stdout()).length).toBeGreaterThan(25), { timeout: 15_000 });
    await vi.waitFor(() => expect(lines(web1.stdout()).length).toBeGreaterThan(25), { timeout: 15_000 });
    expect(lines(web1.stdout()).every((l) => /(app|paas)\[web\.1\]: /.test(l)), web1.stdout()).toBe(true);
    expect(lines(worker.stdout()).every((l) => / (app|paas)\[worker\.\d+\]: /.test(l)), worker.stdout()).toBe(true);
    expect(worker.stdout()).toContain('app[worker.1]: worker tick');
    expect((await viaRouter(paas, `${APP}.localhost`, '/through-the-router')).status).toBe(200);
    await vi.waitFor(() => expect(router.stdout()).toMatch(/ router: .*path="?\/through-the-router/), { timeout: 15_000 });
    expect(lines(router.stdout()).every((l) => / router: /.test(l)), router.stdout()).toBe(true);
    // The platform's lines from the deploy and the scale are in the history; no dyno output among them.
    await vi.waitFor(() => expect(platform.stdout()).toMatch(/ paas\[worker\.1\]: /), { timeout: 15_000 });
    expect(lines(platform.stdout()).every((l) => / paas\[[^\]]+\]: /.test(l)), platform.stdout()).toBe(true);
    await Promise.all([web1, worker, router, platform].map(interrupt));
  });

  it('prints one JSON object per line, with --tail and without', async () => {
    const t = tail(paas, APP, ['--json', '--ps', 'web', '-n', '3']);
    await vi.waitFor(() => expect(lines(t.stdout()).length).toBeGreaterThan(5), { timeout: 15_000 });
    await interrupt(t);
    const history = await cli(paas, ['logs', '-a', APP, '--json', '-n', '5', '--source', 'app']);
    expect(history.code, history.stderr).toBe(0);
    for (const text of [t.stdout(), history.stdout]) {
      for (const line of lines(text)) {
        const parsed = JSON.parse(line) as { time: string; source: string; line: string };
        expect(Object.keys(parsed)).toEqual(['time', 'source', 'line']);
        expect(parsed.source).toMatch(/^app\[/);
      }
    }
    expect(lines(history.stdout)).toHaveLength(5);
  });

  it('gives a tail that stops reading an L10 notice, while the dyno prints on without waiting for it', async () => {
    const ws = new WebSocket(`${paas.apiUrl.replace(/^http/, 'ws')}/v1/apps/${APP}/logs/stream?lines=0&source=app`, { headers: { authorization: `Bearer ${paas.token}` } });
    const got: string[] = [];
    ws.on('message', (data) => got.push(...(JSON.parse(String(data)) as { line: string }[]).map((l) => l.line)));
    await once(ws, 'open');
    // The reader stops reading: the kernel's buffers fill, then the server's, then the tail's queue.
    const socket = (ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    socket.pause();
    // 100,000 lines of 1 KB (100 MB, far past every buffer, the kernel's 32 MiB included): the dyno
    // answers once it has printed them all, so an answer while the reader is still paused shows
    // that nothing waited on the reader.
    const flood = await viaRouter(paas, `${APP}.localhost`, '/flood?n=100000');
    expect(flood.status, flood.body).toBe(200);
    expect(flood.body).toBe('100000');
    socket.resume();
    await vi.waitFor(() => expect(got.some((l) => /^Error L10 \(output buffer overflow\): \d+ messages dropped since \S+Z\.$/.test(l))).toBe(true), { timeout: 20_000 });
    expect(got.filter((l) => l.startsWith('flood ')).length).toBeLessThan(100_000);
    // Caught up, it gets new lines again.
    await vi.waitFor(() => expect(got.at(-1)).toMatch(/ tick \d+ /), { timeout: 20_000 });
    ws.close();
  });

  it('shows control characters in app output escaped, on the CLI and the server stdout, and keeps them in --json', async () => {
    // The server's stdout may still be behind the flood above and leave lines out (it says so): the
    // line is printed again until it shows there.
    await vi.waitFor(async () => {
      expect((await viaRouter(paas, `${APP}.localhost`, '/escapes')).status).toBe(200);
      expect(paas.output()).toContain(`app[web.1]: ctl \\x1b[2J`);
    }, { timeout: 30_000, interval: 1000 });
    const raw = 'ctl \x1b[2J\x1b]0;owned\x07 cr\r del\x7f c1\u009b31m tab\tend';
    const shown = 'ctl \\x1b[2J\\x1b]0;owned\\x07 cr\\x0d del\\x7f c1\\x9b31m tab\tend';
    await vi.waitFor(async () => {
      const r = await cli(paas, ['logs', '-a', APP, '--ps', 'web.1', '-n', '300']);
      expect(r.stdout).toContain(shown);
    }, { timeout: 10_000, interval: 200 });
    const text = (await cli(paas, ['logs', '-a', APP, '-n', '300'])).stdout;
    expect(escapeControls(text.replaceAll('\n', ''))).toBe(text.replaceAll('\n', ''));
    const json = (await cli(paas, ['logs', '-a', APP, '-n', '300', '--json'])).stdout;
    expect(escapeControls(json.replaceAll('\n', ''))).toBe(json.replaceAll('\n', ''));
    expect(lines(json).map((l) => JSON.parse(l).line)).toContain(raw);
    expect(paas.output()).toContain(`app[web.1]: ${shown}`);
    expect(paas.output()).not.toContain('\x1b[2J');
  });

  it('refuses a bad filter with a message that says what fits', async () => {
    const r = await cli(paas, ['logs', '-a', APP, '--ps', 'Web!']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ps must be a dyno \(web\.1\) or a process type \(web\)/);
    const s = await cli(paas, ['logs', '-a', APP, '--tail', '--source', 'dyno']);
    expect(s.code).toBe(1);
    expect(s.stderr).toMatch(/--source must be one of app, paas, router/);
  });

  it('keeps the history across a deploy: the old dynos\' lines, then the new ones', async () => {
    const before = await cli(paas, ['logs', '-a', APP, '-n', '1', '--ps', 'web.1', '--source', 'app']);
    expect(before.code, before.stderr).toBe(0);
    const last = /web tick \d+ web\.1$/m.exec(before.stdout)![0];
    await commitFiles(paas, repo, { 'server.js': chattyApp['server.js'].replace("process.env.DYNO)", "process.env.DYNO + ' v2')") });
    const pushed = await push(paas, repo, APP);
    expect(pushed.code, pushed.stderr).toBe(0);
    await vi.waitFor(async () => {
      const after = await cli(paas, ['logs', '-a', APP, '-n', '1500', '--ps', 'web.1']);
      expect(after.stdout).toMatch(/web tick \d+ web\.1 v2$/m);
      // The line the old release's dyno printed before the deploy is still there, before the new ones.
      expect(after.stdout.indexOf(last)).toBeGreaterThan(-1);
      expect(after.stdout.indexOf(last)).toBeLessThan(after.stdout.search(/ v2$/m));
    }, { timeout: 30_000, interval: 500 });
  });

  it('lives through a control-plane restart: says so on stderr, reconnects, shows new lines; the history survives', async () => {
    // As the user who runs the server: no PAAS_API_TOKEN, the CLI reads the token from the data dir
    // (it must keep it across the restart, when nothing listens for a while).
    // (This server has its token from PAAS_API_TOKEN; one started without keeps it in this file.)
    fs.writeFileSync(path.join(paas.dataDir, 'api-token'), `${paas.token}\n`, { mode: 0o600 });
    const env: Record<string, string> = { ...paas.env, PAAS_DATA_DIR: paas.dataDir };
    delete env.PAAS_API_TOKEN;
    const t = tail(paas, APP, ['--ps', 'web.1', '-n', '1'], env);
    await vi.waitFor(() => expect(t.stdout()).toMatch(/web tick/), { timeout: 15_000 });
    const before = /web tick (\d+)/.exec(lines(t.stdout()).at(-1)!)![1];
    const port = new URL(paas.apiUrl).port;
    expect(await paas.stop()).toBe(0);
    await vi.waitFor(() => expect(t.stderr()).toMatch(/^paas: log stream lost \(the paas server is shutting down\); reconnecting$/m), { timeout: 15_000 });
    paas = await startPaas({ PAAS_DATA_DIR: paas.dataDir, PAAS_API_TOKEN: paas.token, PORT: port }, { outputLimit: 1_000_000 });
    await vi.waitFor(() => expect(t.stderr()).toMatch(/^paas: reconnected$/m), { timeout: 30_000 });
    // The restored dyno counts from 0 again: a line printed after the restart is one past the point
    // where the count goes back. (Under load the new dyno may count past `before` before this looks.)
    const sinceRestart = () => {
      const ticks = lines(t.stdout()).flatMap((l) => /web tick (\d+) web\.1/.exec(l)?.[1] ?? []).map(Number);
      const reset = ticks.findIndex((n, i) => i > 0 && n < ticks[i - 1]);
      return reset < 0 ? [] : ticks.slice(reset);
    };
    await vi.waitFor(() => expect(sinceRestart()).toContain(3), { timeout: 30_000 });
    // No line twice across the reconnect.
    const out = lines(t.stdout());
    expect(new Set(out).size).toBe(out.length);
    await interrupt(t);
    const history = await cli(paas, ['logs', '-a', APP, '-n', '1500', '--ps', 'web.1']);
    expect(history.stdout).toContain(`web tick ${before} web.1`);
  });
});
