// bench:dashboard — how fast the dashboard shows a server's 50 apps, and how much it sends (issue 27).
// A real server (process runtime, temp data dir) with 50 apps made through the API, a few of them
// pushed; Debian's chromium, headless, as the browser tests launch it. Each round opens the apps
// list in a new browser context (signed in, nothing cached) and times navigation start → the frame
// that has all 50 rows, read in the page (performance.now() is relative to navigation start); then
// a reload of the same page (assets cached). The first round also lists every response: bytes
// sent (as sent: gzip when the server compressed), raw, and gzip -9 of each for reference.
// Goals: under 1 s, under 150 KB gzipped. Loopback only; every wait bounded. Rounds: BENCH_ROUNDS (default 5).
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { gzipSync } from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import { signInContext } from '../test/helpers/browser.js';
import { nodeApp } from '../test/helpers/fixtures.js';
import { createApp, gitRepo, type Paas, push } from '../test/helpers/paas.js';
import { runWithBrowser } from './lib/with-browser.js';

const ROUNDS = Math.max(1, Math.min(20, Number(process.env.BENCH_ROUNDS) || 5));
const APPS = 50;
const PUSHED = 3;
const GOAL_MS = 1000;
const GOAL_KB = 150;
const LIMIT_MS = 30_000;

interface Sent {
  path: string;
  type: string;
  encoding: string;
  sent: number;
  raw: number;
  gzip9: number;
}

/** Notes the time of the first frame with `APPS` rows in it; runs in the page before its own scripts. */
const WATCH_ROWS = `(() => {
  const seen = new MutationObserver(() => {
    if (document.querySelectorAll('[data-app]').length < ${APPS}) return;
    seen.disconnect();
    requestAnimationFrame(() => (window.paasRowsAt = performance.now()));
  });
  seen.observe(document, { childList: true, subtree: true });
})()`;

/** Waits for the rows and answers the page's own time of them (ms since navigation start). */
async function rowsAt(page: Page): Promise<number> {
  // A function, not a string: Playwright evals a string predicate in the page, which its CSP forbids.
  await page.waitForFunction(() => (window as { paasRowsAt?: number }).paasRowsAt !== undefined, undefined, { timeout: LIMIT_MS });
  return page.evaluate<number>('window.paasRowsAt');
}

/** One cold load (new context: no cache, no connections) and one reload; the responses of the cold one when `sizes`. */
async function round(browser: Browser, paas: Paas, sizes: Sent[] | undefined): Promise<{ cold: number; warm: number }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    await signInContext(context, paas.apiUrl, paas.token);
    await context.addInitScript(WATCH_ROWS);
    const page = await context.newPage();
    const pending: Promise<void>[] = [];
    if (sizes) {
      page.on('requestfinished', (req) => {
        pending.push(
          (async () => {
            const res = await req.response();
            if (!res) return;
            const body = await res.body();
            const { responseBodySize } = await req.sizes();
            sizes.push({ path: new URL(req.url()).pathname, type: req.resourceType(), encoding: res.headers()['content-encoding'] ?? '-', sent: responseBodySize, raw: body.length, gzip9: gzipSync(body, { level: 9 }).length });
          })(),
        );
      });
    }
    await page.goto(`${paas.apiUrl}/`, { waitUntil: 'commit', timeout: LIMIT_MS });
    const cold = await rowsAt(page);
    await page.waitForLoadState('networkidle', { timeout: LIMIT_MS });
    await Promise.all(pending);
    page.removeAllListeners('requestfinished');
    await page.reload({ waitUntil: 'commit', timeout: LIMIT_MS });
    const warm = await rowsAt(page);
    return { cold, warm };
  } finally {
    await context.close();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const kb = (bytes: number) => (bytes / 1024).toFixed(1);

function cpuModel(): string {
  try {
    return /^Model name:\s*(.+)$/m.exec(execFileSync('lscpu', { encoding: 'utf8' }))?.[1].trim() ?? os.cpus()[0]?.model ?? 'cpu';
  } catch {
    return os.cpus()[0]?.model ?? 'cpu';
  }
}

runWithBrowser({}, async (paas, browser) => {
  const names = Array.from({ length: APPS }, (_, i) => `bench-app-${String(i + 1).padStart(2, '0')}`);
  for (const name of names) await createApp(paas, name);
  const repo = await gitRepo(paas, nodeApp('bench'));
  for (const r of await Promise.all(names.slice(0, PUSHED).map((name) => push(paas, repo, name)))) {
    if (r.code !== 0) throw new Error(`push failed:\n${r.stderr}`);
  }
  const sizes: Sent[] = [];
  const cold: number[] = [];
  const warm: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const r = await round(browser, paas, i === 0 ? sizes : undefined);
    cold.push(r.cold);
    warm.push(r.warm);
  }
  const assets = sizes.filter((s) => s.type !== 'fetch' && s.type !== 'xhr');
  const sum = (xs: Sent[], key: 'sent' | 'raw' | 'gzip9') => xs.reduce((n, s) => n + s[key], 0);
  console.log(`bench:dashboard: ${ROUNDS} rounds, ${APPS} apps (${PUSHED} pushed), ${os.cpus().length} x ${cpuModel()}, node ${process.version}, chromium ${browser.version()}, ${new Date().toISOString()}`);
  console.log('| response | type | encoding | sent | raw | gzip -9 |');
  console.log('| --- | --- | --- | ---: | ---: | ---: |');
  for (const s of sizes) console.log(`| ${s.path} | ${s.type} | ${s.encoding} | ${s.sent} B | ${s.raw} B | ${s.gzip9} B |`);
  console.log(`| assets (all but the API's data) | | | ${kb(sum(assets, 'sent'))} KB | ${kb(sum(assets, 'raw'))} KB | ${kb(sum(assets, 'gzip9'))} KB |`);
  console.log('');
  console.log('| measure | median | goal | ratio |');
  console.log('| --- | ---: | ---: | ---: |');
  console.log(`| navigation → ${APPS} rows, cold (new context, nothing cached) | ${median(cold).toFixed(0)} ms | ${GOAL_MS} ms | ${(median(cold) / GOAL_MS).toFixed(2)} |`);
  console.log(`| navigation → ${APPS} rows, reload (assets cached) | ${median(warm).toFixed(0)} ms | ${GOAL_MS} ms | ${(median(warm) / GOAL_MS).toFixed(2)} |`);
  console.log(`| assets as sent | ${kb(sum(assets, 'sent'))} KB | ${GOAL_KB} KB | ${(sum(assets, 'sent') / 1024 / GOAL_KB).toFixed(2)} |`);
  console.log(`cold rounds: ${cold.map((ms) => ms.toFixed(0)).join(', ')} ms`);
});
