// What the dashboard's test files share: one real server and one chromium per file, a page per
// test (its own cookies, saved as a screenshot when the test ends, failed if its scripts threw or
// its Content-Security-Policy refused something), and the checks every page gets (axe, width).
import type { Browser, Page } from 'playwright-core';
import { beforeAll, expect } from 'vitest';
import { axeViolations, browserCanRun, launchBrowser, openPage, signInContext } from '../helpers/browser.js';
import { onCleanup } from '../helpers/cleanup.js';
import { type Paas, startPaas } from '../helpers/paas.js';

/** Whether chromium is here; without it the file skips, with one line (or fails under PAAS_TEST_ALL=1). */
export const canRun = browserCanRun('dashboard browser tests');

export interface Dashboard {
  paas: Paas;
  browser: Browser;
}

/** The file's server and browser, started in a beforeAll (so only when the file runs) and stopped at its end. */
export function useDashboard(env: Record<string, string> = {}): Dashboard {
  const d = {} as Dashboard;
  beforeAll(async () => {
    [d.paas, d.browser] = await Promise.all([startPaas(env), launchBrowser()]);
  });
  return d;
}

/**
 * A new page for the running test, named after it. `signedIn` makes the session as the page would
 * (POST /v1/session from the browser's own cookie jar) without going through the form, which one
 * test does; `path` is then opened. `width` is the viewport's (800 px high).
 */
export async function newPage(d: Dashboard, opts: { signedIn?: boolean; path?: string; width?: number } = {}): Promise<Page> {
  const width = opts.width ?? 1280;
  // A second page of a test (another width) gets a screenshot of its own.
  const name = `${expect.getState().currentTestName ?? 'page'}${width === 1280 ? '' : ` ${width}px`}`;
  const { page, context, problems } = await openPage(d.browser, name, { width, height: 800 });
  // Builds and pushes are waited on with their own, longer timeouts.
  context.setDefaultTimeout(15_000);
  onCleanup(() => {
    if (problems.length) throw new Error(`the page had problems:\n${problems.join('\n')}`);
  });
  if (opts.signedIn) await signInContext(context, d.paas.apiUrl, d.paas.token);
  if (opts.path !== undefined) await page.goto(`${d.paas.apiUrl}${opts.path}`);
  return page;
}

/** Asserts axe finds no serious or critical violation on `page` as it is now; `where` names it in the failure. */
export async function expectAccessible(page: Page, where: string): Promise<void> {
  expect(await axeViolations(page), `axe on ${where}`).toEqual([]);
}

/** Asserts `page` needs no horizontal scrolling (its content fits the viewport's width). */
export async function expectNoSideways(page: Page, where: string): Promise<void> {
  const { scroll, view } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, view: window.innerWidth }));
  expect(scroll, `${where}: content ${scroll} px wide in a ${view} px viewport`).toBeLessThanOrEqual(view);
}

/** Marks the page's document, so a later check can tell it was never reloaded (the mark would be gone). */
export async function markDocument(page: Page): Promise<void> {
  await page.evaluate(() => ((window as unknown as { paasTestMark: number }).paasTestMark = 1));
}

/** Asserts the document marked by markDocument is still the one shown: what changed came live. */
export async function expectNotReloaded(page: Page): Promise<void> {
  expect(await page.evaluate(() => (window as unknown as { paasTestMark?: number }).paasTestMark), 'the page was reloaded').toBe(1);
}
