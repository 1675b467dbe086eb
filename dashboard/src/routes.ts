// The dashboard's addresses: `/` the apps list, `/apps/<name>/<tab>` an app (pure, so tests read it too).

export const TABS = ['overview', 'activity', 'settings', 'logs', 'domains', 'maintenance', 'addons'] as const;
export type Tab = (typeof TABS)[number];

export type Route = { page: 'apps' } | { page: 'app'; app: string; tab: Tab } | { page: 'not-found' };

export function parseRoute(pathname: string): Route {
  if (pathname === '/' || pathname === '') return { page: 'apps' };
  const m = /^\/apps\/([^/]+)(?:\/([a-z]+))?\/?$/.exec(pathname);
  if (!m) return { page: 'not-found' };
  let app: string;
  try {
    app = decodeURIComponent(m[1]);
  } catch {
    return { page: 'not-found' };
  }
  const tab = (m[2] ?? 'overview') as Tab;
  return TABS.includes(tab) ? { page: 'app', app, tab } : { page: 'not-found' };
}

export const appHref = (app: string, tab: Tab = 'overview'): string => `/apps/${encodeURIComponent(app)}${tab === 'overview' ? '' : `/${tab}`}`;
