// One app's life in the dashboard, in a real chromium against a real server: made in the UI, pushed
// with real git from "a terminal" (the test), scaled, restarted, configured, rolled back, its log
// tailed, a domain, maintenance mode and an add-on, then destroyed; what the CLI does meanwhile is
// shown live, without a reload. Every tab passes axe and fits 375 px. The tests run in order on one app.
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type { Dyno, Release } from '../../cli/types.js';
import { nodeApp } from '../helpers/fixtures.js';
import { apiCall, cli, gitRepo, push, viaRouter } from '../helpers/paas.js';
import { canRun, type Dashboard, expectAccessible, expectNoSideways, expectNotReloaded, markDocument, newPage, useDashboard } from './suite.js';

const APP = 'dash-app';
const TABS = ['Overview', 'Activity', 'Settings', 'Logs', 'Domains', 'Maintenance', 'Add-ons'];
/** A push builds and starts a dyno: longer than any click. */
const DEPLOY_MS = 90_000;

/** A Node app without dependencies whose web dyno prints a line for every request it answers. */
const app = {
  ...nodeApp('dashboard'),
  'server.js': `
const http = require('http');
const server = http.createServer((req, res) => {
  console.log('answered ' + req.url);
  res.end('ok');
});
server.listen(process.env.PORT, () => console.log('listening on ' + process.env.PORT));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`,
};

async function releases(d: Dashboard): Promise<Release[]> {
  const r = await apiCall(d.paas, 'GET', `/v1/apps/${APP}/releases`);
  expect(r.status).toBe(200);
  return r.json as Release[];
}

/** When each dyno of the app started, by name: a restarted dyno starts anew. */
async function dynoStarts(d: Dashboard): Promise<Record<string, string>> {
  const r = await apiCall(d.paas, 'GET', `/v1/apps/${APP}/dynos`);
  return Object.fromEntries((r.json as Dyno[]).map((x) => [x.name, x.started_at]));
}

/** The role="status" element's text once it says `text` (an action's result). */
async function statusSays(page: Page, text: string | RegExp): Promise<void> {
  // A release restarts the dynos: on a loaded machine (CI runs two files at once) that takes a while.
  await page.getByRole('status').filter({ hasText: text }).first().waitFor({ timeout: 30_000 });
}

/** Resolves once the page has drawn two more frames: what it was told before then, it shows by now. */
async function twoFrames(page: Page): Promise<void> {
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
}

async function openTab(page: Page, name: string): Promise<void> {
  await page.getByRole('tab', { name, exact: true }).click();
  await page.locator(`[role="tab"][aria-selected="true"]`, { hasText: name }).waitFor();
}

describe.skipIf(!canRun)('dashboard: an app from creation to rollback', () => {
  const d = useDashboard({ PAAS_MAX_DYNOS_PER_TYPE: '4' });

  it('creates an app in the UI, and after a git push from a terminal shows it up without a reload', async () => {
    const page = await newPage(d, { signedIn: true, path: '/' });
    await page.getByRole('button', { name: 'Create app' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('App name').fill(APP);
    await expectAccessible(page, 'the create dialog');
    await dialog.getByRole('button', { name: 'Create', exact: true }).click();
    // The git remote to add, with a button to copy it.
    const remote = page.locator('code', { hasText: 'git remote' });
    await remote.waitFor();
    expect(await remote.textContent()).toContain(`/${APP}.git`);
    await page.getByRole('button', { name: 'Copy' }).waitFor();
    expect((await apiCall(d.paas, 'GET', `/v1/apps/${APP}`)).status).toBe(200);

    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    const row = page.locator(`[data-app="${APP}"]`);
    await row.waitFor();
    expect(await row.getAttribute('data-status')).toBe('no-release');
    expect(await row.getByRole('link', { name: APP, exact: true }).count()).toBe(1);
    await markDocument(page);

    const pushed = await push(d.paas, await gitRepo(d.paas, app), APP);
    expect(pushed.code, pushed.stderr).toBe(0);
    await page.locator(`[data-app="${APP}"][data-status="up"]`).waitFor({ timeout: DEPLOY_MS });
    await expectNotReloaded(page);
    await expectAccessible(page, 'the apps list with an app up');
  });

  it('scales web to 2 from the Overview and shows two dynos up', async () => {
    const page = await newPage(d, { signedIn: true, path: `/apps/${APP}` });
    await page.locator('[role="tab"][aria-selected="true"]', { hasText: 'Overview' }).waitFor();
    const current = (await releases(d)).find((r) => r.current)!;
    await page.getByText(`v${current.version}`, { exact: true }).first().waitFor();
    const quantity = page.locator('[data-quantity="web"]');
    expect((await quantity.textContent())?.trim()).toBe('1');

    await page.getByRole('button', { name: 'Increase web' }).click();
    expect((await quantity.textContent())?.trim()).toBe('2');
    await page.getByRole('button', { name: 'Scale', exact: true }).click();
    await statusSays(page, 'Scaled web to 2');
    await page.locator('[data-dyno="web.2"][data-state="up"]').waitFor({ timeout: 30_000 });
    await page.locator('[data-dyno="web.1"][data-state="up"]').waitFor();
    expect(await page.locator('[data-dyno^="web."]').count()).toBe(2);
    const formation = await apiCall(d.paas, 'GET', `/v1/apps/${APP}/formation`);
    expect(formation.json).toContainEqual(expect.objectContaining({ type: 'web', quantity: 2 }));

    const started = await dynoStarts(d);
    await page.getByRole('button', { name: 'Restart all dynos' }).click();
    await statusSays(page, /Restarted/);
    const restarted = await dynoStarts(d);
    for (const dyno of ['web.1', 'web.2']) expect(restarted[dyno], dyno).not.toBe(started[dyno]);
    await page.locator('[data-dyno="web.2"][data-state="up"]').waitFor();
  });

  it('shows a ps:scale made with the CLI elsewhere without a reload', async () => {
    const page = await newPage(d, { signedIn: true, path: `/apps/${APP}/overview` });
    await page.locator('[data-dyno="web.2"]').waitFor();
    await markDocument(page);
    const scaled = await cli(d.paas, ['ps:scale', 'web=1', '-a', APP]);
    expect(scaled.code, scaled.stderr).toBe(0);
    await page.locator('[data-dyno="web.2"]').waitFor({ state: 'detached', timeout: 30_000 });
    await expect.poll(async () => (await page.locator('[data-quantity="web"]').textContent())?.trim()).toBe('1');
    expect(await page.locator('[data-dyno^="web."]').count()).toBe(1);
    await expectNotReloaded(page);
  });

  it('sets a config var in one release, and rolling back brings the old value back', async () => {
    const page = await newPage(d, { signedIn: true, path: `/apps/${APP}/settings` });
    const before = (await releases(d))[0].version;
    await page.getByLabel('Key', { exact: true }).fill('GREETING');
    await page.getByLabel('Value', { exact: true }).fill('hello');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await statusSays(page, `Released v${before + 1}`);
    const row = page.locator('[data-config-key="GREETING"]');
    await row.waitFor();
    // Hidden until asked for.
    expect(await row.textContent()).not.toContain('hello');
    await page.getByRole('button', { name: 'Reveal config vars' }).click();
    await row.filter({ hasText: 'hello' }).waitFor();
    expect((await releases(d))[0].version).toBe(before + 1);

    // Changed from a terminal: the revealed value follows, live.
    await markDocument(page);
    const set = await cli(d.paas, ['config:set', 'GREETING=bonjour', '-a', APP]);
    expect(set.code, set.stderr).toBe(0);
    await row.filter({ hasText: 'bonjour' }).waitFor();

    await openTab(page, 'Activity');
    await page.locator(`[data-release="v${before + 2}"]`).waitFor();
    const order = await page.locator('[data-release]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-release')));
    expect(order.slice(0, 2)).toEqual([`v${before + 2}`, `v${before + 1}`]);
    expect(await page.getByRole('button', { name: `Roll back to v${before + 2}` }).count()).toBe(0);
    // The push's build keeps its output, shown when opened.
    const build = page.locator('[data-build]').first();
    await build.locator('summary', { hasText: 'Output' }).click();
    await build.locator('pre', { hasText: 'app detected' }).waitFor();
    await page.getByRole('button', { name: `Roll back to v${before + 1}` }).click();
    await expectAccessible(page, 'the roll back dialog');
    await page.getByRole('dialog').getByRole('button', { name: 'Roll back', exact: true }).click();
    await statusSays(page, `Released v${before + 3}`);
    await page.locator(`[data-release="v${before + 3}"]`).waitFor();

    await openTab(page, 'Settings');
    await page.getByRole('button', { name: 'Reveal config vars' }).click();
    await row.filter({ hasText: 'hello' }).waitFor();
    expect((await apiCall(d.paas, 'GET', `/v1/apps/${APP}/config`)).json).toMatchObject({ GREETING: 'hello' });
    await expectNotReloaded(page);
  });

  it('edits and removes a config var, one release each', async () => {
    const page = await newPage(d, { signedIn: true, path: `/apps/${APP}/settings` });
    const before = (await releases(d))[0].version;
    await page.getByRole('button', { name: 'Reveal config vars' }).click();
    const row = page.locator('[data-config-key="GREETING"]');
    await row.filter({ hasText: 'hello' }).waitFor();
    await page.getByRole('button', { name: 'Edit GREETING' }).click();
    // The row's edit box, holding the old value, takes the focus (autofocus: at the next frame, so
    // typing is sent to the box itself, not to whatever has the focus before then).
    const box = row.getByRole('textbox');
    expect(await box.inputValue()).toBe('hello');
    await expect.poll(() => box.evaluate((el) => el === document.activeElement)).toBe(true);
    await box.fill('salut');
    await box.press('Enter');
    await statusSays(page, `Released v${before + 1}`);
    await row.filter({ hasText: 'salut' }).waitFor();
    await page.getByRole('button', { name: 'Remove GREETING' }).click();
    await statusSays(page, `Released v${before + 2}`);
    await row.waitFor({ state: 'detached' });
    expect((await releases(d))[0].version).toBe(before + 2);
    expect((await apiCall(d.paas, 'GET', `/v1/apps/${APP}/config`)).json).not.toHaveProperty('GREETING');
  });

  it('tails the log: the history first, then a line the dyno prints now; Pause holds it', async () => {
    const page = await newPage(d, { signedIn: true });
    // What the page's log socket receives, to know a line has reached the page while it is paused.
    const received: string[] = [];
    page.on('websocket', (ws) => {
      if (ws.url().includes('/logs/stream')) ws.on('framereceived', (f) => received.push(String(f.payload)));
    });
    await page.goto(`${d.paas.apiUrl}/apps/${APP}/logs`);
    const log = page.getByRole('log');
    await log.filter({ hasText: 'listening on' }).waitFor();
    const marker = `/live-${Date.now()}`;
    expect((await viaRouter(d.paas, `${APP}.localhost`, marker)).status).toBe(200);
    // Live: shown within two frames of reaching the page (which makes the paused check below mean something).
    await expect.poll(() => received.some((f) => f.includes(marker)), { timeout: 10_000 }).toBe(true);
    await twoFrames(page);
    expect(await log.textContent()).toContain(`answered ${marker}`);

    await page.getByRole('button', { name: 'Pause' }).click();
    await page.getByRole('button', { name: 'Resume' }).waitFor();
    const held = `/held-${Date.now()}`;
    expect((await viaRouter(d.paas, `${APP}.localhost`, held)).status).toBe(200);
    await expect.poll(() => received.some((f) => f.includes(held)), { timeout: 10_000 }).toBe(true);
    await twoFrames(page);
    expect(await log.textContent()).not.toContain(held);
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.getByRole('button', { name: 'Pause' }).waitFor();

    // Filtered by source: the platform's lines alone, then the dyno's alone.
    const shows = (want: string, not: string) => expect.poll(async () => ((t) => t.includes(want) && !t.includes(not))((await log.textContent()) ?? '')).toBe(true);
    await page.getByLabel('Source').selectOption('paas');
    await shows('Build started', 'answered /');
    await page.getByLabel('Source').selectOption('app');
    await shows(`answered ${marker}`, 'Build started');
    expect(await page.getByLabel('Dyno').locator('option', { hasText: 'web.1' }).count()).toBe(1);
  });

  it('adds and removes a domain, and turns maintenance mode on and off', async () => {
    const page = await newPage(d, { signedIn: true, path: `/apps/${APP}/domains` });
    await page.getByLabel('Domain', { exact: true }).fill('www.dash-app.test');
    await page.getByRole('button', { name: 'Add domain' }).click();
    const remove = page.getByRole('button', { name: 'Remove www.dash-app.test' });
    await remove.waitFor();
    await remove.click();
    await remove.waitFor({ state: 'detached' });
    const domains = (await apiCall(d.paas, 'GET', `/v1/apps/${APP}/domains`)).json as { hostname: string }[];
    expect(domains.map((x) => x.hostname)).not.toContain('www.dash-app.test');

    await openTab(page, 'Maintenance');
    const toggle = page.getByRole('switch', { name: 'Maintenance mode' }).or(page.getByRole('checkbox', { name: 'Maintenance mode' }));
    expect(await toggle.isChecked()).toBe(false);
    await toggle.click();
    await expect.poll(async () => (await apiCall(d.paas, 'GET', `/v1/apps/${APP}`)).json.maintenance).toBe(true);
    await expect.poll(async () => (await viaRouter(d.paas, `${APP}.localhost`)).status).toBe(503);
    await toggle.click();
    await expect.poll(async () => (await apiCall(d.paas, 'GET', `/v1/apps/${APP}`)).json.maintenance).toBe(false);
  });

  it('creates a Redis add-on from the Add-ons tab, attached in a new release', async () => {
    const page = await newPage(d, { signedIn: true, path: `/apps/${APP}/addons` });
    const before = (await releases(d))[0].version;
    await page.getByLabel('Service').selectOption('redis');
    await page.getByRole('button', { name: 'Create add-on' }).click();
    await statusSays(page, `Released v${before + 1}`);
    await page.getByText('REDIS_URL').waitFor();
    const addons = (await apiCall(d.paas, 'GET', `/v1/apps/${APP}/addons`)).json as { service: string }[];
    expect(addons.map((a) => a.service)).toEqual(['redis']);
  });

  it('passes axe on every tab, and fits every tab into 375 px', async () => {
    const page = await newPage(d, { signedIn: true, path: `/apps/${APP}` });
    for (const tab of TABS) {
      await openTab(page, tab);
      await page.waitForLoadState('networkidle');
      await expectAccessible(page, `the ${tab} tab`);
    }
    const narrow = await newPage(d, { signedIn: true, path: `/apps/${APP}`, width: 375 });
    for (const tab of TABS) {
      await openTab(narrow, tab);
      await expectNoSideways(narrow, `the ${tab} tab at 375 px`);
    }
  });

  it('destroys the app only once its name is typed', async () => {
    const page = await newPage(d, { signedIn: true, path: `/apps/${APP}/settings` });
    await page.getByRole('button', { name: 'Destroy app' }).click();
    const dialog = page.getByRole('dialog');
    const destroy = dialog.getByRole('button', { name: 'Destroy', exact: true });
    expect(await destroy.isDisabled()).toBe(true);
    await dialog.getByLabel("Type the app's name to confirm").fill('dash-ap');
    expect(await destroy.isDisabled()).toBe(true);
    await expectAccessible(page, 'the destroy dialog');
    await dialog.getByLabel("Type the app's name to confirm").fill(APP);
    await destroy.click();
    await page.getByRole('heading', { name: 'Apps', level: 1 }).waitFor();
    await page.locator(`[data-app="${APP}"]`).waitFor({ state: 'detached' });
    expect((await apiCall(d.paas, 'GET', `/v1/apps/${APP}`)).status).toBe(404);
  });
});
