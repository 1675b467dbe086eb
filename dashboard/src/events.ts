// Websockets with reconnect: the `/v1/events` stream the whole dashboard listens to (one per page
// load), and the log tails. A socket that closes is opened again after a backoff that doubles up to
// 15 s, and is back to short once a connection has lasted.
import type { AppEvent } from './types.js';

const MIN_DELAY_MS = 500;
const MAX_DELAY_MS = 15_000;
/** A connection that lasted this long was a real one: the next drop retries quickly again. */
const STABLE_MS = 10_000;

export interface Socket {
  close(): void;
}

/** `ws(s)://<this host><path>`: the browser sends the session cookie with it (same origin). */
export function wsUrl(path: string): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${path}`;
}

/**
 * Opens `url()` (asked again on each reconnect, so a tail can resume `since` its last line) and keeps
 * it open until `close()`. `onOpen` runs on each connection, `onMessage` on each text message.
 */
export function socket(url: () => string, handlers: { onMessage: (data: string) => void; onOpen?: (again: boolean) => void }): Socket {
  let ws: WebSocket | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let delay = MIN_DELAY_MS;
  let closed = false;
  let opens = 0;
  const connect = () => {
    const openedAt = Date.now();
    ws = new WebSocket(url());
    ws.onopen = () => handlers.onOpen?.(opens++ > 0);
    ws.onmessage = (e: MessageEvent) => {
      if (typeof e.data === 'string') handlers.onMessage(e.data);
    };
    ws.onclose = () => {
      if (closed) return;
      if (Date.now() - openedAt > STABLE_MS) delay = MIN_DELAY_MS;
      timer = setTimeout(connect, delay);
      delay = Math.min(delay * 2, MAX_DELAY_MS);
    };
  };
  connect();
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      ws?.close();
    },
  };
}

/** An app event, or null after a reconnect: events may have been missed, so refetch everything shown. */
type Listener = (event: AppEvent | null) => void;
const listeners = new Set<Listener>();

/** Calls `fn` on each app event (and with null after a reconnect); returns the unsubscribe. */
export function onAppEvent(fn: Listener): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** Opens the page's one `/v1/events` socket; close it on sign-out. */
export function startEvents(): Socket {
  return socket(() => wsUrl('/v1/events'), {
    onOpen: (again) => {
      if (again) for (const fn of [...listeners]) fn(null);
    },
    onMessage: (data) => {
      let event: AppEvent;
      try {
        event = JSON.parse(data) as AppEvent;
      } catch {
        return;
      }
      if (event.type === 'app') for (const fn of [...listeners]) fn(event);
    },
  });
}
