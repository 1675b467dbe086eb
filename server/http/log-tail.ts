import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { type Authority, authorizeUpgrade } from './auth.js';
import { PaasError } from '../../lib/errors.js';
import { goAway, heartbeat, refuseUpgrade } from './upgrades.js';
import { lastMatching, type LogFilter, matchesFilter, parseLogFilter } from '../logs/filter.js';
import type { AppLogs, LogLine } from '../logs/pipeline.js';
import type { Subscription } from '../logs/subscription.js';

/** `GET /v1/apps/:app/logs/stream`: the path the API's upgrade dispatcher sends here. */
export const TAIL_PATH = /^\/v1\/apps\/[^/]+\/logs\/stream$/;

export interface LogTailsDeps {
  logs: Pick<AppLogs, 'subscribe' | 'recent' | 'limit'>;
  /** Who may tail: the token holder, or a dashboard session from the API's own origin. */
  authority: Authority;
  /** The app's name if it exists; throws a NotFoundError (which says what to do) if not. */
  requireApp: (name: string) => string;
  /** Lines a tail may have waiting before the oldest are dropped (and reported with L10). */
  maxQueue?: number;
  /** Bytes a tail's socket may hold unsent before lines stop being taken for it. */
  maxBufferedBytes?: number;
  pingMs?: number;
}

interface Tail {
  ws: WebSocket;
  sub: Subscription;
  filter: LogFilter;
  alive: boolean;
  /** Whether its caller is still let in (see authorizeUpgrade): asked at each heartbeat. */
  allowed: () => boolean;
  /** Set while the socket holds more than its bound: a send's callback takes up again. */
  blocked: boolean;
  scheduled: boolean;
}

type Wire = Pick<LogLine, 'time' | 'source' | 'line'>;
const wire = (l: Wire): Wire => ({ time: l.time, source: l.source, line: l.line });

/** Validates `lines` for a tail: like the history call's, or the whole history after `since`. */
function parseLines(raw: string | null, filter: LogFilter, max: number): number {
  if (raw === null) return filter.since === undefined ? Math.min(100, max) : max;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > max) throw new PaasError('invalid_params', 422, `lines must be an integer from 0 to ${max} (the history kept, PAAS_LOG_HISTORY).`);
  return n;
}

/**
 * Live log tails (`paas logs --tail`): a websocket per reader that gets the last matching lines
 * of the history, then every new matching line, in JSON arrays of `{time, source, line}`. Each tail
 * is a Subscription of the pipeline; lines are taken from it only while the socket has less than
 * `maxBufferedBytes` unsent, so a reader that falls behind fills its queue and loses lines (with
 * an L10 notice) rather than slowing the dynos or growing the server's memory.
 */
export class LogTails {
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 64 * 1024 });
  private readonly tails = new Set<Tail>();
  private readonly pinger: NodeJS.Timeout;
  private readonly maxBuffered: number;
  private closed = false;

  constructor(private readonly deps: LogTailsDeps) {
    this.maxBuffered = deps.maxBufferedBytes ?? 1024 * 1024;
    // A reader gone without a FIN (laptop closed) is noticed by its missing pong and let go.
    this.pinger = setInterval(() => heartbeat(this.tails), deps.pingMs ?? 30_000).unref();
  }

  get size(): number {
    return this.tails.size;
  }

  /** The dispatcher's handler for TAIL_PATH: the tail, or an HTTP error and no upgrade. */
  readonly handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    // The CLI sends no Origin; a browser may tail only from the dashboard this API serves, with its session.
    let allowed: () => boolean, app: string, filter: LogFilter, lines: number;
    try {
      allowed = authorizeUpgrade(req.headers, this.deps.authority);
      if (this.closed) throw new PaasError('unavailable', 503, 'The paas server is shutting down. Run `paas logs --tail` again once it is back.');
      const url = new URL(req.url ?? '/', 'http://paas');
      app = this.deps.requireApp(decodeURIComponent(url.pathname.split('/')[3]));
      filter = parseLogFilter(Object.fromEntries(url.searchParams));
      lines = parseLines(url.searchParams.get('lines'), filter, this.deps.logs.limit);
    } catch (err) {
      if (err instanceof PaasError) return refuseUpgrade(socket, err);
      if (err instanceof URIError) return refuseUpgrade(socket, new PaasError('bad_request', 400, 'The app name in the path is not valid URL encoding.'));
      throw err;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, { app, filter, lines, allowed }));
  };

  /** Ends every tail with 1001 (going away): the CLI says so and reconnects once the server is back. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.pinger);
    for (const tail of this.tails) tail.sub.close();
    await goAway([...this.tails].map((t) => t.ws), 'paas server shutting down');
  }

  private accept(ws: WebSocket, { app, filter, lines, allowed }: { app: string; filter: LogFilter; lines: number; allowed: () => boolean }): void {
    // History and subscription in the same tick: no line falls between them or comes twice.
    const history = lines ? lastMatching(this.deps.logs.recent(app, this.deps.logs.limit), lines, filter) : [];
    const tail: Tail = { ws, filter, alive: true, allowed, blocked: false, scheduled: false, sub: undefined! };
    tail.sub = this.deps.logs.subscribe(app, (urgent) => (urgent ? this.pumpNow(tail) : this.schedule(tail)), this.deps.maxQueue);
    this.tails.add(tail);
    if (history.length) this.send(tail, history);
    ws.on('pong', () => (tail.alive = true));
    ws.on('error', () => ws.terminate());
    ws.on('close', () => {
      tail.sub.close();
      this.tails.delete(tail);
    });
  }

  /** Takes lines on the next turn, not inside the dyno's write: a burst then goes out as one message. */
  private schedule(tail: Tail): void {
    if (tail.scheduled || tail.blocked) return;
    tail.scheduled = true;
    setImmediate(() => {
      tail.scheduled = false;
      this.pump(tail);
    });
  }

  /** Half the queue came in one turn: sent now if the socket has room, rather than dropped before the next. */
  private pumpNow(tail: Tail): void {
    if (!tail.blocked) this.pump(tail);
  }

  private pump(tail: Tail): void {
    // The app was destroyed: the reader hears so (its reconnect then gets the 404 that says why).
    if (tail.sub.ended) return void tail.ws.close(1000, 'app destroyed');
    while (tail.ws.readyState === tail.ws.OPEN) {
      if (tail.ws.bufferedAmount >= this.maxBuffered) {
        tail.blocked = true;
        return;
      }
      if (!tail.sub.pending) return;
      const batch = tail.sub.take().filter((e) => matchesFilter(tail.filter, e.source));
      if (batch.length) this.send(tail, batch);
    }
  }

  private send(tail: Tail, batch: readonly Wire[]): void {
    tail.ws.send(JSON.stringify(batch.map(wire)), () => {
      // Written to the kernel: if lines were held back for this socket, take them up again.
      if (!tail.blocked) return;
      tail.blocked = false;
      this.pump(tail);
    });
  }
}
