// What a page shows, fetched from /v1 and fetched again when it may have changed: on each
// `/v1/events` message for the app it belongs to (any app, for the apps list), after a reconnect of
// the event stream, and when the page asks (after its own action). Fetches never overlap: a change
// that comes during one makes exactly one more after it.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError } from './api.js';
import { onAppEvent } from './events.js';

export interface Resource<T> {
  /** Undefined until the first answer for this path. */
  data: T | undefined;
  /** The last fetch's error (the data, if any, is from before it). */
  error: ApiError | undefined;
  reload: () => Promise<void>;
}

/** GET `path` now and whenever app `app` (or, with `app` undefined, any app) changes. */
export function useResource<T>(path: string, app?: string): Resource<T> {
  const [state, setState] = useState<{ path: string; data?: T; error?: ApiError }>({ path });
  const reload = useRef<() => Promise<void>>(() => Promise.resolve());
  useEffect(() => {
    let live = true;
    let running: Promise<void> | undefined;
    let queued: Promise<void> | undefined;
    const fetchOnce = async () => {
      try {
        const data = await api<T>('GET', path);
        if (live) setState({ path, data });
      } catch (err) {
        const error = err instanceof ApiError ? err : new ApiError(0, 'error', String(err));
        if (live) setState((s) => (s.path === path ? { ...s, error } : { path, error }));
      }
    };
    const run = (): Promise<void> => {
      if (!running) {
        running = fetchOnce().finally(() => (running = undefined));
        return running;
      }
      queued ??= running.then(() => {
        queued = undefined;
        return live ? run() : undefined;
      });
      return queued;
    };
    reload.current = run;
    void run();
    const off = onAppEvent((event) => {
      if (!event || app === undefined || event.app === app) void run();
    });
    return () => {
      live = false;
      off();
    };
  }, [path, app]);
  const current = state.path === path;
  return { data: current ? state.data : undefined, error: current ? state.error : undefined, reload: () => reload.current() };
}
