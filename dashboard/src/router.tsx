// Routes in the History API: `/` the apps list, `/apps/<name>/<tab>` an app. The server answers
// every such path with index.html, so a reload or a shared link lands on the same view.
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { parseRoute, type Route } from './routes.js';

export { appHref, type Route, type Tab, TABS } from './routes.js';

const listeners = new Set<() => void>();

export function navigate(href: string, replace = false): void {
  if (href === location.pathname) return;
  if (replace) history.replaceState(null, '', href);
  else history.pushState(null, '', href);
  for (const fn of [...listeners]) fn();
}

/** The current route; re-renders on navigation and on the browser's back and forward. */
export function useRoute(): Route {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const update = () => setPath(location.pathname);
    listeners.add(update);
    addEventListener('popstate', update);
    return () => {
      listeners.delete(update);
      removeEventListener('popstate', update);
    };
  }, []);
  return parseRoute(path);
}

/** A click handler that navigates in the page; a modified click (new tab, window) is left to the browser. */
export function followLink(href: string): (e: MouseEvent) => void {
  return (e) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(href);
  };
}

type LinkProps = { href: string; children: ComponentChildren; class?: string; 'aria-current'?: 'page' };

/** A link to a view of the dashboard, followed without reloading the page. */
export function Link({ href, children, ...rest }: LinkProps) {
  return (
    <a {...rest} href={href} onClick={followLink(href)}>
      {children}
    </a>
  );
}
