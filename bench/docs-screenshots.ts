// docs:screenshots — makes the README's pictures of the dashboard (docs/images/dashboard-app.png, the
// app page's Overview, and docs/images/dashboard-apps.png, the apps list), each 1280×800, with the
// browser setup of the dashboard's tests. A real server (temp data dir, process runtime) gets a
// sample app pushed, scaled to two web dynos and given a config var, beside two more apps; the
// server listens on 5100 and its router on 5000, as a default install does, when those are free
// (so the pictures show the usual URLs). Not a benchmark: it lives in bench/ for its harness.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { signInContext } from '../test/helpers/browser.js';
import { nodeApp, staticSite } from '../test/helpers/fixtures.js';
import { apiCall, createApp, gitRepo, type Paas, push, ROOT } from '../test/helpers/paas.js';
import { runWithBrowser } from './lib/with-browser.js';

const OUT = path.join(ROOT, 'docs', 'images');
const APP = 'hello-web';

/** `port` when nothing listens on it on loopback, else 0 (any free one). */
async function freeOr0(port: number): Promise<string> {
  const free = await new Promise<boolean>((resolve) => {
    const s = net.createServer().once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
  return String(free ? port : 0);
}

async function ok(what: string, r: Promise<{ status: number; json: unknown }>): Promise<void> {
  const { status, json } = await r;
  if (status >= 300) throw new Error(`${what} answered ${status}: ${JSON.stringify(json)}`);
}

/** hello-web (pushed, web=2, a config var), docs-site (pushed, a static site) and a new app with no release. */
async function sampleApps(paas: Paas): Promise<void> {
  for (const name of [APP, 'docs-site', 'new-service']) await createApp(paas, name);
  for (const [name, files] of [
    [APP, nodeApp('Hello from paas')],
    ['docs-site', staticSite],
  ] as const) {
    const r = await push(paas, await gitRepo(paas, files), name);
    if (r.code !== 0) throw new Error(`pushing ${name} failed:\n${r.stderr}`);
  }
  await ok('setting a config var', apiCall(paas, 'PATCH', `/v1/apps/${APP}/config`, { GREETING: 'hello' }));
  await ok('scaling', apiCall(paas, 'PATCH', `/v1/apps/${APP}/formation`, { updates: [{ type: 'web', quantity: 2 }] }));
}

async function main(): Promise<void> {
  runWithBrowser({ PORT: await freeOr0(5100), PAAS_ROUTER_PORT: await freeOr0(5000) }, async (paas, browser) => {
    await sampleApps(paas);
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await signInContext(context, paas.apiUrl, paas.token);
    const page = await context.newPage();
    fs.mkdirSync(OUT, { recursive: true });

    await page.goto(`${paas.apiUrl}/apps/${APP}`);
    await page.locator('[data-dyno="web.2"][data-state="up"]').waitFor({ timeout: 30_000 });
    await page.waitForLoadState('networkidle');
    await page.screenshot({ path: path.join(OUT, 'dashboard-app.png') });

    await page.goto(`${paas.apiUrl}/`);
    await page.locator(`[data-app="${APP}"][data-status="up"]`).waitFor({ timeout: 30_000 });
    await page.waitForLoadState('networkidle');
    await page.screenshot({ path: path.join(OUT, 'dashboard-apps.png') });
    console.log(`docs:screenshots: wrote ${path.relative(ROOT, path.join(OUT, 'dashboard-app.png'))} and ${path.relative(ROOT, path.join(OUT, 'dashboard-apps.png'))} (chromium ${browser.version()})`);
  });
}

void main();
