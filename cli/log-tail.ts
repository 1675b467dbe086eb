import WebSocket from 'ws';
import { apiUrl, requireToken } from './auth.js';
import { CliError } from './errors.js';
import type { LogLine } from './types.js';

export interface TailOptions {
  app: string;
  lines: number;
  ps?: string;
  source?: string;
  /** Prints one batch of lines (one write for many: a busy app sends thousands a second). */
  print: (lines: LogLine[]) => void;
  /** Notices (stream lost, reconnected) for stderr. */
  notice: (text: string) => void;
}

/** A connection that ended after it opened: why, for the notice. */
class Lost {
  constructor(readonly reason: string) {}
}

const MAX_BACKOFF_MS = 5000;
const key = (l: LogLine) => `${l.time} ${l.source} ${l.line}`;

function closeReason(code: number, reason: string): string {
  if (code === 1001) return 'the paas server is shutting down';
  return reason || (code === 1006 ? 'connection closed' : `closed with code ${code}`);
}

/**
 * Follows an app's log over the API's websocket until the process is stopped. When the stream is
 * lost (a control-plane restart), it says so through `notice`, reconnects with backoff and asks
 * only for lines from the last time it saw, skipping the ones at that time it already printed.
 */
export async function tailLogs(opts: TailOptions): Promise<never> {
  // The newest time printed and the lines printed at it: a reconnect asks from that time on and
  // skips these. Lines a router stamps earlier may come later; they print but do not move it.
  let lastTime: string | undefined;
  let atLast = new Set<string>();
  const onBatch = (batch: LogLine[], replay: boolean) => {
    const fresh = replay && lastTime !== undefined ? batch.filter((l) => l.time > lastTime! || (l.time === lastTime && !atLast.has(key(l)))) : batch;
    for (const l of fresh) {
      if (lastTime === undefined || l.time > lastTime) {
        lastTime = l.time;
        atLast = new Set();
      }
      if (l.time === lastTime) atLast.add(key(l));
    }
    if (fresh.length) opts.print(fresh);
  };

  // Found once: while the server restarts nothing listens on its port, and a token read from its data
  // dir (localServerToken) is only handed to a port our own server listens on.
  const endpoint = { url: apiUrl(), token: requireToken() };
  let lost = await connect(opts, endpoint, { lines: String(opts.lines) }, onBatch, () => undefined).catch((err: Error) => {
    if (err instanceof CliError) throw err;
    const cause = (err as NodeJS.ErrnoException).code ?? err.message;
    throw new CliError(`Could not reach the paas server at ${endpoint.url} (${cause}). Is \`paas server\` running? Set PAAS_API_URL if it runs elsewhere.`);
  });
  for (;;) {
    opts.notice(`paas: log stream lost (${lost.reason}); reconnecting`);
    let backoff = 250;
    for (;;) {
      await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      const query: Record<string, string> = lastTime === undefined ? { lines: '0' } : { since: lastTime };
      try {
        lost = await connect(opts, endpoint, query, onBatch, () => opts.notice('paas: reconnected'));
        break;
      } catch (err) {
        // Refused for good (the app was destroyed, the token changed): say what, and stop.
        if (err instanceof CliError) throw err;
      }
    }
  }
}

/**
 * One connection: resolves with why it ended once it has opened; before that, rejects with a
 * CliError for a refusal the user must act on, or with the network error to retry after.
 */
function connect(opts: TailOptions, endpoint: { url: string; token: string }, query: Record<string, string>, onBatch: (lines: LogLine[], replay: boolean) => void, onOpen: () => void): Promise<Lost> {
  const params = new URLSearchParams(query);
  if (opts.ps) params.set('ps', opts.ps);
  if (opts.source) params.set('source', opts.source);
  const url = `${endpoint.url.replace(/^http/, 'ws')}/v1/apps/${encodeURIComponent(opts.app)}/logs/stream?${params}`;
  const ws = new WebSocket(url, { headers: { authorization: `Bearer ${endpoint.token}` }, perMessageDeflate: false });
  return new Promise((resolve, reject) => {
    let opened = false;
    // The first message after a reconnect is the history since the last line seen: deduplicated.
    let replay = query.since !== undefined;
    ws.once('open', () => {
      opened = true;
      onOpen();
    });
    ws.on('message', (data) => {
      let batch: unknown;
      try {
        batch = JSON.parse(data.toString());
      } catch {
        return; // not ours to print: a proxy's or a newer server's message
      }
      if (Array.isArray(batch)) onBatch(batch as LogLine[], replay);
      replay = false;
    });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => {
        ws.terminate();
        let message = `HTTP ${res.statusCode}`;
        try {
          message = (JSON.parse(body) as { message?: string }).message ?? message;
        } catch {
          message = `The server at ${endpoint.url} answered HTTP ${res.statusCode} with something that is not paas JSON. Check PAAS_API_URL.`;
        }
        // A server shutting down (503) or a proxy in between restarting (502) comes back: retry.
        reject(res.statusCode! >= 500 ? new Error(message) : new CliError(message));
      });
    });
    ws.on('error', (err) => {
      if (!opened) reject(err);
    });
    ws.once('close', (code, reason) => {
      if (opened) resolve(new Lost(closeReason(code, reason.toString())));
    });
  });
}
