// A real browser for the dashboard's tests, its benchmark and its screenshots: Debian's chromium
// driven by playwright-core (which brings no browser of its own; nothing is downloaded). Whatever is
// opened here is closed by onCleanup when the test, or the file, that opened it ends: the browser and
// every chromium process it started go with it, pass or fail. No vitest import, so the benchmark and
// the screenshot script use the same setup.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { onCleanup } from './cleanup.js';
import { hostCanRun } from './host.js';
import { ROOT } from './paas.js';

/** Debian's package `chromium` (.ci/run installs it). */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * The flags every launch uses: headless, no sandbox (the suite runs as root), and nothing that
 * reaches out to the network on its own (the machine reaches no internet). Playwright adds a fresh
 * --user-data-dir of its own under TMPDIR and removes it when the browser closes.
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Whether the browser suites can run here; prints one line and returns false when chromium is missing (throws under PAAS_TEST_ALL=1). */
export function browserCanRun(what: string): boolean {
  return hostCanRun(what, { [`Debian's chromium at ${CHROMIUM} (apt-get install chromium)`]: fs.existsSync(CHROMIUM) });
}

/** Starts headless chromium; it is closed (all its processes with it) when the test or file ends. */
export async function launchBrowser(): Promise<Browser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 30_000 });
  onCleanup(() => browser.close());
  return browser;
}

/** Where the tests' screenshots go: PAAS_TEST_SCREENS, else test-results/dashboard/ in the checkout (git ignores it). */
export function screenshotDir(): string {
  return process.env.PAAS_TEST_SCREENS ?? path.join(ROOT, 'test-results', 'dashboard');
}

let announced = false;

/** A file name from a test's name: letters, digits and dashes. */
function slug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 120) || 'page';
}

export interface OpenPage {
  page: Page;
  context: BrowserContext;
  /** Uncaught errors of the page's scripts and refusals by its Content-Security-Policy, as they happened. */
  problems: string[];
}

/**
 * A page in a context of its own (its own cookies: signed out), `width`×`height` px. When the test
 * ends, the page is saved as `<screenshotDir>/<screenshot>.png` (the folder is printed once) and its
 * context closed. `screenshot` names the file, usually the test's name.
 */
export async function openPage(browser: Browser, screenshot: string, viewport = { width: 1280, height: 800 }): Promise<OpenPage> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`uncaught in the page: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content.Security.Policy/i.test(msg.text())) problems.push(`CSP: ${msg.text()}`);
  });
  onCleanup(async () => {
    const dir = screenshotDir();
    fs.mkdirSync(dir, { recursive: true });
    if (!announced) {
      announced = true;
      console.log(`dashboard screenshots: ${dir}`);
    }
    await page.screenshot({ path: path.join(dir, `${slug(screenshot)}.png`), fullPage: true, timeout: 5000 }).catch(() => undefined);
    await context.close();
  });
  return { page, context, problems };
}

/**
 * Makes a dashboard session for `context` as its pages would (POST /v1/session, the cookie kept in
 * the context's own jar), without the sign-in form.
 */
export async function signInContext(context: BrowserContext, apiUrl: string, token: string): Promise<void> {
  const r = await context.request.post(`${apiUrl}/v1/session`, { data: { token } });
  if (r.status() !== 201) throw new Error(`signing in answered ${r.status()}: ${await r.text()}`);
}

/**
 * Signs `page` in with `token` through the sign-in view, as a person does: opens `apiUrl`, types
 * the token into "API token", presses "Sign in", and waits for the apps list.
 */
export async function signIn(page: Page, apiUrl: string, token: string): Promise<void> {
  await page.goto(apiUrl);
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Apps', level: 1 }).waitFor();
}

/** axe-core's own script (the npm package), read once. */
let axeSource: string | undefined;

/** What axe found on one element. */
interface AxeNode {
  target: unknown[];
  failureSummary?: string;
}
interface AxeViolation {
  id: string;
  impact?: string | null;
  help: string;
  nodes: AxeNode[];
}

/**
 * Runs axe-core in `page` as it is now and returns its serious and critical violations, one readable
 * line each (rule, impact, what it asks, the elements): [] when there are none. axe goes in through
 * the DevTools protocol, so the page's Content-Security-Policy (no inline scripts) is not in its way.
 */
export async function axeViolations(page: Page): Promise<string[]> {
  axeSource ??= fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  if (!(await page.evaluate('typeof window.axe === "object"'))) await page.evaluate(axeSource);
  const violations = await page.evaluate<AxeViolation[]>(`window.axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations)`);
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => {
      // The first reason axe gives per element is enough to find it; the rest repeats the rule.
      const where = v.nodes.slice(0, 5).map((n) => `${n.target.join(' ')}${n.failureSummary ? ` (${n.failureSummary.split('\n')[1]?.trim() ?? ''})` : ''}`);
      return `${v.id} [${v.impact}] ${v.help}: ${v.nodes.length} element(s): ${where.join('; ')}`;
    });
}
