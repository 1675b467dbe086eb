// Logs: the recent history first (`GET /logs`), then live lines from the log stream websocket,
// resumed `since` the last line after a drop. Pause holds new lines back until Resume; the Dyno and
// Source filters are the API's `ps` and `source`.
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { api, appPath } from '../api.js';
import { socket, wsUrl } from '../events.js';
import type { TabProps } from './tab.js';
import { useResource } from '../resource.js';
import { clockTime } from '../time.js';
import type { Dyno, LogLine } from '../types.js';

const HISTORY = 200;
/** Lines kept on the page; older ones are dropped from the top. */
const KEEP = 1000;

export function LogsTab({ app }: TabProps) {
  const [ps, setPs] = useState('');
  const [source, setSource] = useState('');
  const [lines, setLines] = useState<LogLine[]>([]);
  const [paused, setPaused] = useState(false);
  const [error, setError] = useState('');
  const [heldCount, setHeldCount] = useState(0);
  const held = useRef<LogLine[]>([]);
  const pausedRef = useRef(false);
  const dynos = useResource<Dyno[]>(appPath(app, '/dynos'), app);

  useEffect(() => {
    const filter = new URLSearchParams();
    if (ps) filter.set('ps', ps);
    if (source) filter.set('source', source);
    let live = true;
    let last: LogLine | undefined;
    let stream: { close(): void } | undefined;
    let resync = false;
    setLines([]);
    setError('');
    held.current = [];
    setHeldCount(0);
    const add = (fresh: LogLine[]) => {
      if (!fresh.length) return;
      last = fresh[fresh.length - 1];
      if (pausedRef.current) {
        held.current = [...held.current, ...fresh].slice(-KEEP);
        setHeldCount(held.current.length);
      } else setLines((ls) => [...ls, ...fresh].slice(-KEEP));
    };
    api<LogLine[]>('GET', appPath(app, `/logs?lines=${HISTORY}&${filter}`))
      .then(
        (history) => live && add(history),
        (err: Error) => live && setError(err.message),
      )
      .finally(() => {
        if (!live) return;
        stream = socket(
          () => {
            const q = new URLSearchParams(filter);
            // From the last line seen (it and any of the same time come again: skipped below), else only new lines.
            if (last) q.set('since', last.time);
            else q.set('lines', '0');
            return wsUrl(appPath(app, `/logs/stream?${q}`));
          },
          {
            onOpen: () => (resync = true),
            onMessage: (data) => {
              let batch: LogLine[];
              try {
                batch = JSON.parse(data) as LogLine[];
              } catch {
                return; // not the tail's JSON: nothing to show
              }
              const seen = last;
              // A connection's first message is the history since the last line seen: that line, and older ones, are on the page already.
              add(resync && seen ? batch.filter((l) => l.time > seen.time || (l.time === seen.time && !sameLine(l, seen))) : batch);
              resync = false;
            },
          },
        );
      });
    return () => {
      live = false;
      stream?.close();
    };
  }, [app, ps, source]);

  const toggle = () => {
    pausedRef.current = !paused;
    setPaused(!paused);
    if (paused) {
      const release = held.current;
      held.current = [];
      setHeldCount(0);
      setLines((ls) => [...ls, ...release].slice(-KEEP));
    }
  };
  const types = [...new Set((dynos.data ?? []).map((d) => d.type))];
  return (
    <>
      <div class="controls">
        <div class="field">
          <label for="log-ps">Dyno</label>
          <select id="log-ps" value={ps} onChange={(e) => setPs(e.currentTarget.value)}>
            <option value="">All dynos</option>
            {types.map((t) => (
              <option key={t} value={t}>
                every {t}
              </option>
            ))}
            {(dynos.data ?? []).map((d) => (
              <option key={d.name} value={d.name}>
                {d.name}
              </option>
            ))}
            {ps && !types.includes(ps) && !dynos.data?.some((d) => d.name === ps) && <option value={ps}>{ps}</option>}
          </select>
        </div>
        <div class="field">
          <label for="log-source">Source</label>
          <select id="log-source" value={source} onChange={(e) => setSource(e.currentTarget.value)}>
            <option value="">All sources</option>
            <option value="app">app: the dynos' output</option>
            <option value="paas">paas: builds, releases, dyno state</option>
            <option value="router">router: requests</option>
          </select>
        </div>
        <button type="button" onClick={toggle}>
          {paused ? 'Resume' : 'Pause'}
        </button>
        {paused && heldCount > 0 && <span class="hint">{heldCount} new lines held</span>}
      </div>
      {error && <p class="error">{error}</p>}
      <LogView lines={lines} />
    </>
  );
}

const sameLine = (a: LogLine, b: LogLine) => a.time === b.time && a.source === b.source && a.line === b.line;

/** The lines, kept scrolled to the bottom while the reader is there. */
function LogView({ lines }: { lines: LogLine[] }) {
  const ref = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  useLayoutEffect(() => {
    const el = ref.current;
    if (el && atBottom.current) el.scrollTop = el.scrollHeight;
  }, [lines]);
  const onScroll = () => {
    const el = ref.current;
    if (el) atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
  };
  return (
    <div ref={ref} role="log" aria-label="Log lines" tabIndex={0} class="log" onScroll={onScroll}>
      {lines.length ? (
        lines.map((l, i) => (
          <div key={i} class="line">
            <time dateTime={l.time}>{clockTime(l.time)}</time> <span class="source">{l.source}</span> <span class="text">{l.line}</span>
          </div>
        ))
      ) : (
        <p class="hint">No log lines yet.</p>
      )}
    </div>
  );
}
