// The dashboard's sign-in, in a real chromium against a real server: the form, a wrong token, the
// session cookie (HttpOnly, never the token itself), CSRF refusal from the page's own context,
// sign-out ending the session on the server, and the apps list's empty state (accessible, 375 px).
import { describe, expect, it } from 'vitest';
import { signIn } from '../helpers/browser.js';
import { createApp } from '../helpers/paas.js';
import { canRun, expectAccessible, expectNoSideways, expectNotReloaded, markDocument, newPage, useDashboard } from './suite.js';

describe.skipIf(!canRun)('dashboard sign-in', () => {
  const d = useDashboard();

  it('signs in with the API token, and the token is in no URL, no HTML and no script-readable cookie', async () => {
    const page = await newPage(d);
    const urls: string[] = [];
    page.on('request', (req) => urls.push(req.url()));
    await page.goto(d.paas.apiUrl);
    const field = page.getByLabel('API token');
    expect(await field.getAttribute('type')).toBe('password');
    await expectAccessible(page, 'the sign-in view');
    await signIn(page, d.paas.apiUrl, d.paas.token);

    expect(urls.length).toBeGreaterThan(1);
    expect(urls.filter((u) => u.includes(d.paas.token) || u.includes(encodeURIComponent(d.paas.token)))).toEqual([]);
    expect(page.url()).not.toContain(d.paas.token);
    expect(await page.content()).not.toContain(d.paas.token);
    const cookies = await page.context().cookies();
    const session = cookies.find((c) => c.name === 'paas_session');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
    expect(session!.value).not.toContain(d.paas.token);
    expect(await page.evaluate(() => document.cookie)).not.toContain('paas_session');
    expect(await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }))).not.toContain(d.paas.token);

    // No app yet: the empty state tells a new user how to deploy one (once the list has loaded).
    await page.getByRole('heading', { name: 'Deploy your first app' }).waitFor({ timeout: 15_000 });
    const main = (await page.getByRole('main').textContent()) ?? '';
    expect(main).toContain('apps:create');
    expect(main).toContain('git push');
    await expectAccessible(page, 'the empty apps list');
  });

  it('fits the apps list into 375 px, and shows an app made elsewhere without a reload', async () => {
    const page = await newPage(d, { signedIn: true, path: '/', width: 375 });
    await page.getByRole('heading', { name: 'Apps', level: 1 }).waitFor();
    await expectNoSideways(page, 'apps list at 375 px');
    await expectAccessible(page, 'the apps list at 375 px');
    await markDocument(page);
    await createApp(d.paas, 'listed-app');
    await page.locator('[data-app="listed-app"]').waitFor();
    expect(await page.locator('[data-app="listed-app"]').getAttribute('data-status')).toBe('no-release');
    await expectNoSideways(page, 'apps list with an app at 375 px');
    await expectNotReloaded(page);
  });

  it('refuses a wrong token with a clear message, and stays on the sign-in view', async () => {
    const page = await newPage(d, { path: '/' });
    await page.getByLabel('API token').fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const alert = page.getByRole('alert');
    await expect.poll(() => alert.textContent()).toContain("That is not this server's API token");
    expect(await alert.textContent()).toContain('paas auth:token');
    expect(await page.getByRole('heading', { name: 'Apps', level: 1 }).count()).toBe(0);
    expect(await page.context().cookies()).toEqual([]);
    await expectAccessible(page, 'the sign-in view with its error');
  });

  it('refuses a state-changing request from the page without the CSRF header (403), and takes it with', async () => {
    const page = await newPage(d, { signedIn: true, path: '/' });
    await page.getByRole('heading', { name: 'Apps', level: 1 }).waitFor();
    const without = await page.evaluate(async () => {
      const res = await fetch('/v1/apps', { method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'csrf-less' }) });
      return { status: res.status, body: (await res.json()) as { id: string; message: string } };
    });
    expect(without.status).toBe(403);
    expect(without.body.id).toBe('csrf');
    expect(without.body.message.length).toBeGreaterThan(10);
    // The same request with the session's CSRF value is taken: the 403 was the header's doing.
    const withHeader = await page.evaluate(async () => {
      const { csrf } = (await (await fetch('/v1/session', { credentials: 'same-origin' })).json()) as { csrf: string };
      const res = await fetch('/v1/apps', { method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json', 'x-paas-csrf': csrf }, body: JSON.stringify({ name: 'csrf-ok' }) });
      return res.status;
    });
    expect(withHeader).toBe(201);
    const wrong = await page.evaluate(async () => {
      const res = await fetch('/v1/apps/csrf-ok', { method: 'DELETE', credentials: 'same-origin', headers: { 'x-paas-csrf': 'forged' } });
      return res.status;
    });
    expect(wrong).toBe(403);
  });

  it('signs out: back to the sign-in view, and the old cookie opens nothing any more', async () => {
    const page = await newPage(d, { signedIn: true, path: '/' });
    await page.getByRole('heading', { name: 'Apps', level: 1 }).waitFor();
    const cookie = (await page.context().cookies()).find((c) => c.name === 'paas_session')!;
    const asCookie = { cookie: `paas_session=${cookie.value}` };
    expect((await fetch(`${d.paas.apiUrl}/v1/apps`, { headers: asCookie })).status).toBe(200);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API token').waitFor();
    expect((await fetch(`${d.paas.apiUrl}/v1/apps`, { headers: asCookie })).status).toBe(401);
    expect((await fetch(`${d.paas.apiUrl}/v1/session`, { headers: asCookie })).status).toBe(401);
    await page.reload();
    await page.getByLabel('API token').waitFor();
  });

});
