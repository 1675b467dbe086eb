// The dashboard's pure parts, without a browser: the status dot's rule, relative times and its
// addresses. The pages themselves are driven in chromium by test/dashboard/.
import { describe, expect, it } from 'vitest';
import type { App } from '../lib/api-types.js';
import { appHref, parseRoute } from '../dashboard/src/routes.js';
import { appStatus, dynosUp } from '../dashboard/src/status.js';
import { relativeTime } from '../dashboard/src/time.js';

const app = (over: Partial<App>): App => ({
  name: 'a1',
  created_at: '2026-01-01T00:00:00.000Z',
  git_url: 'http://h/a1.git',
  web_url: 'http://a1.localhost',
  maintenance: false,
  release: { version: 3, description: 'Deploy abc1234', created_at: '2026-01-01T00:00:00.000Z' },
  dynos: [{ name: 'web.1', state: 'up', port: 1 }],
  deploying: false,
  ...over,
});

describe('the status dot', () => {
  it('is up with a release and every dyno up, whatever standby dynos there are', () => {
    expect(appStatus(app({}))).toBe('up');
    expect(appStatus(app({ dynos: [{ name: 'web.1', state: 'up', port: 1 }, { name: 'web.1', state: 'standby', port: 2 }] }))).toBe('up');
  });

  it('is crashed when any dyno is, even while a deploy runs', () => {
    expect(appStatus(app({ dynos: [{ name: 'web.1', state: 'up', port: 1 }, { name: 'worker.1', state: 'crashed', port: null }] }))).toBe('crashed');
    expect(appStatus(app({ deploying: true, dynos: [{ name: 'web.1', state: 'crashed', port: null }] }))).toBe('crashed');
  });

  it('is deploying while a build or release is pending or a dyno starts, the first push included', () => {
    expect(appStatus(app({ deploying: true }))).toBe('deploying');
    expect(appStatus(app({ dynos: [{ name: 'web.1', state: 'starting', port: null }] }))).toBe('deploying');
    expect(appStatus(app({ release: null, dynos: [], deploying: true }))).toBe('deploying');
  });

  it('is no-release before the first release', () => {
    expect(appStatus(app({ release: null, dynos: [] }))).toBe('no-release');
  });

  it('counts dynos up out of those the formation runs', () => {
    expect(dynosUp(app({ dynos: [{ name: 'web.1', state: 'up', port: 1 }, { name: 'web.2', state: 'starting', port: null }, { name: 'web.1', state: 'standby', port: 3 }] }))).toBe('1/2 up');
  });
});

describe('relative times', () => {
  const now = Date.parse('2026-06-01T12:00:00.000Z');
  it.each([
    ['2026-06-01T11:59:55.000Z', 'just now'],
    ['2026-06-01T12:00:20.000Z', 'just now'], // the browser's clock a little behind the server's
    ['2026-06-01T11:59:00.000Z', '1 minute ago'],
    ['2026-06-01T11:57:00.000Z', '3 minutes ago'],
    ['2026-06-01T09:00:00.000Z', '3 hours ago'],
    ['2026-05-31T12:00:00.000Z', 'yesterday'],
    ['2026-05-20T12:00:00.000Z', 'last week'],
    ['2026-05-10T12:00:00.000Z', '3 weeks ago'],
    ['not a time', 'not a time'],
  ])('says %s is %s', (iso, said) => {
    expect(relativeTime(iso, now)).toBe(said);
  });
});

describe('addresses', () => {
  it('reads the apps list, an app and its tabs, and nothing else', () => {
    expect(parseRoute('/')).toEqual({ page: 'apps' });
    expect(parseRoute('/apps/my-app')).toEqual({ page: 'app', app: 'my-app', tab: 'overview' });
    expect(parseRoute('/apps/my-app/logs/')).toEqual({ page: 'app', app: 'my-app', tab: 'logs' });
    expect(parseRoute('/apps/my-app/nope')).toEqual({ page: 'not-found' });
    expect(parseRoute('/apps/%E0%A4%A')).toEqual({ page: 'not-found' });
    expect(parseRoute('/v2/anything')).toEqual({ page: 'not-found' });
  });

  it('makes each tab an address that reads back as it', () => {
    for (const tab of ['overview', 'activity', 'addons'] as const) expect(parseRoute(appHref('my-app', tab))).toEqual({ page: 'app', app: 'my-app', tab });
    expect(appHref('my-app')).toBe('/apps/my-app');
  });
});
