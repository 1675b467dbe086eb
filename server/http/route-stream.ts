import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { LOG_FRAMES, PROTOCOL_VERSION, readLogFrame, type RouterLogLine, type ServerMessage, STREAM_PATH } from '../../router/protocol.js';
import { tokenFromRequest, tokenMatches } from './auth.js';
import { NotFoundError, PaasError, UnauthorizedError } from '../../lib/errors.js';
import { SHUTTING_DOWN } from '../control/lifecycle.js';
import { heartbeat, refuseUpgrade as refuse } from './upgrades.js';
import type { RouteChange, Routes } from '../dynos/routes.js';
import type { AppLogs } from '../logs/pipeline.js';

export interface RouteStreamDeps {
  routes: Routes;
  token: string;
  /** PAAS_DOMAIN: apps answer at `<app>.<domain>` unless a router says otherwise. */
  domain: string;
  /** Where router log lines go: the app's log stream (source `router`). */
  logs: Pick<AppLogs, 'appendAll'>;
  /** The server's own log (stdout). */
  log: (line: string) => void;
  /** A subscriber with more than this unsent is dropped: it reconnects and gets a fresh snapshot. */
  maxBufferedBytes?: number;
  pingMs?: number;
}

/** How long past its own timeout a drain waits for routers' answers (the message's round trip). */
const DRAIN_MARGIN_MS = 1000;
/** A router log line longer than this is cut: routers write short lines, so this is only a guard. */
const MAX_LINE = 10_000;

interface Subscriber {
  ws: WebSocket;
  alive: boolean;
  /** Drains this router has not answered yet, by id. */
  drains: Map<number, (inFlight: number) => void>;
}

/* eslint-disable no-control-regex -- control characters are what these find */
const CONTROL = /[\x00-\x1f\x7f]/g;
/** In a log frame, LF ends a line: every other control character goes (C0 and DEL; C1 is escaped on stdout). */
const FRAME_CONTROLS = /[\x00-\x09\x0b-\x1f\x7f]/g;
/** What a terminal would act on, but LF: a frame with none needs no line of it checked again (lib/control-chars.ts). */
const FRAME_UNSAFE = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/;
/* eslint-enable no-control-regex */
const isLogLine = (l: unknown): l is RouterLogLine =>
  typeof l === 'object' && l !== null && typeof (l as RouterLogLine).app === 'string' && typeof (l as RouterLogLine).line === 'string';

/**
 * The route stream's server side (`GET /v1/router/stream`, a websocket with the API token): every
 * router subscribes, gets a snapshot of the route table and then each change in order, answers
 * drains and sends back its request log. A router that falls far behind is dropped rather than
 * buffered without bound; it reconnects and starts again from a snapshot.
 */
export class RouteStream {
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 16 * 1024 * 1024 });
  private readonly subscribers = new Set<Subscriber>();
  private readonly unsubscribe: () => void;
  private readonly pinger: NodeJS.Timeout;
  private readonly maxBuffered: number;
  private nextDrain = 1;
  private closed = false;

  constructor(private readonly deps: RouteStreamDeps) {
    this.maxBuffered = deps.maxBufferedBytes ?? 8 * 1024 * 1024;
    // One listener for all: each change is serialized once, whatever the number of routers.
    this.unsubscribe = deps.routes.subscribe((change: RouteChange) => this.broadcast(JSON.stringify(change)));
    // A router that vanished without a FIN (host down, paused) is noticed by its missing pong.
    this.pinger = setInterval(() => heartbeat(this.subscribers), deps.pingMs ?? 15_000).unref();
  }

  /** How many routers are subscribed. */
  get size(): number {
    return this.subscribers.size;
  }

  /** The API server's `upgrade` listener: the stream, with the token, or an HTTP error and no upgrade. */
  readonly handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    const path = (req.url ?? '').split('?')[0];
    if (path !== STREAM_PATH) return refuse(socket, new NotFoundError(`No route for ${req.method} ${path}. See docs/api.md for the API.`));
    // Routers send no Origin; a browser does, and must not open the stream with credentials it cached.
    if (req.headers.origin !== undefined) return refuse(socket, new PaasError('forbidden', 403, 'The route stream is for paas routers, not browsers.'));
    if (!tokenMatches(tokenFromRequest(req), this.deps.token)) return refuse(socket, new UnauthorizedError('Invalid credentials: give the router the API token in PAAS_API_TOKEN.'));
    if (this.closed) return refuse(socket, new PaasError('unavailable', 503, SHUTTING_DOWN));
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
  };

  /**
   * Asks every router to drain `target` (it has left the table) and resolves with the most requests
   * any one still had in flight when its time ran out. A router that goes away or never answers
   * within `timeoutMs` and a margin counts as done: there is nothing more to wait for from it.
   */
  drain(target: { host: string; port: number }, timeoutMs: number): Promise<number> {
    const id = this.nextDrain++;
    const text = JSON.stringify({ type: 'drain', id, host: target.host, port: target.port, timeoutMs } satisfies ServerMessage);
    const answers = [...this.subscribers].map(
      (sub) =>
        new Promise<number>((resolve) => {
          const timer = setTimeout(() => done(0), timeoutMs + DRAIN_MARGIN_MS);
          const done = (inFlight: number) => {
            clearTimeout(timer);
            sub.drains.delete(id);
            resolve(inFlight);
          };
          sub.drains.set(id, done);
          this.send(sub, text);
        }),
    );
    return Promise.all(answers).then((counts) => Math.max(0, ...counts));
  }

  /** Closes every router's stream (1001, going away): routers keep serving their last table. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.pinger);
    this.unsubscribe();
    await Promise.all(
      [...this.subscribers].map(
        (sub) =>
          new Promise<void>((resolve) => {
            sub.ws.once('close', () => resolve());
            sub.ws.close(1001, 'paas server shutting down');
            // A router that does not answer the close (paused, gone) must not hold the shutdown.
            setTimeout(() => sub.ws.terminate(), 1000).unref();
          }),
      ),
    );
  }

  private accept(ws: WebSocket): void {
    const sub: Subscriber = { ws, alive: true, drains: new Map() };
    // The snapshot and the subscription happen in the same tick: no change falls between them.
    this.subscribers.add(sub);
    const snapshot: ServerMessage = { type: 'snapshot', version: PROTOCOL_VERSION, domain: this.deps.domain, apps: this.deps.routes.snapshot(), features: [LOG_FRAMES] };
    this.send(sub, JSON.stringify(snapshot));
    // Certificates and challenges follow at once: a router serves HTTPS from its first moment on the stream.
    for (const msg of this.deps.routes.tlsMessages()) this.send(sub, JSON.stringify(msg));
    ws.on('pong', () => (sub.alive = true));
    ws.on('message', (data, isBinary) => {
      sub.alive = true;
      if (isBinary) this.logFrame(Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data));
      else this.receive(sub, data.toString());
    });
    ws.on('error', () => ws.terminate());
    ws.on('close', () => {
      this.subscribers.delete(sub);
      for (const done of [...sub.drains.values()]) done(0);
    });
  }

  private send(sub: Subscriber, text: string): void {
    if (sub.ws.readyState !== sub.ws.OPEN) return;
    if (sub.ws.bufferedAmount > this.maxBuffered) {
      this.deps.log(`A router fell more than ${Math.round(this.maxBuffered / 1024 / 1024)} MiB behind the route stream; dropped it (it reconnects with a fresh snapshot)`);
      sub.ws.terminate();
      return;
    }
    sub.ws.send(text);
  }

  private broadcast(text: string): void {
    for (const sub of this.subscribers) this.send(sub, text);
  }

  /** A router's message; anything malformed is dropped: the router is trusted, its bytes are not. */
  private receive(sub: Subscriber, text: string): void {
    let msg: Record<string, unknown> | null;
    try {
      msg = JSON.parse(text) as Record<string, unknown> | null;
    } catch {
      return;
    }
    if (typeof msg !== 'object' || msg === null) return;
    if (msg.type === 'drained') {
      if (typeof msg.id === 'number' && typeof msg.inFlight === 'number' && msg.inFlight >= 0) sub.drains.get(msg.id)?.(msg.inFlight);
    } else if (msg.type === 'logs' && Array.isArray(msg.lines)) {
      this.logLines(msg.lines as unknown[], msg.dropped);
    }
  }

  /**
   * A log frame (router/protocol.ts): one scan of the whole batch for control characters, which
   * a router's lines never have, rather than one per line here and another per line on stdout.
   */
  private logFrame(data: Buffer): void {
    const text = data.toString('utf8');
    const safe = !FRAME_UNSAFE.test(text);
    this.logLines(readLogFrame(safe ? text : text.replace(FRAME_CONTROLS, '')), undefined, true, safe);
  }

  /** `clean`: the lines have no control characters left (a log frame's); `safe`: none at all, C1 included. */
  private logLines(lines: unknown[], dropped: unknown, clean = false, safe = false): void {
    const known: RouterLogLine[] = [];
    const now = Date.now();
    let app: unknown;
    let listed = false;
    for (const entry of lines) {
      if (!isLogLine(entry)) continue;
      // Only apps the table knows: a router's log names no app it could not have routed to. A
      // batch is mostly one app's lines, so the table is asked when the app changes.
      if (entry.app !== app) listed = this.deps.routes.get((app = entry.app)) !== undefined;
      if (!listed) continue;
      // A router's clock may be off, or it may lie: a time more than a minute from ours is replaced by ours.
      const time = typeof entry.time === 'number' && Math.abs(entry.time - now) < 60_000 ? entry.time : undefined;
      const line = entry.line.length > MAX_LINE ? entry.line.slice(0, MAX_LINE) : entry.line;
      // Control characters out: a router's line must not forge lines of its own in our stdout.
      known.push({ app: entry.app, line: clean ? line : line.replace(CONTROL, ''), time });
    }
    this.deps.logs.appendAll('router', known, safe);
    if (typeof dropped === 'number' && Number.isInteger(dropped) && dropped > 0) {
      this.deps.log(`Error L10 (output buffer overflow): ${dropped} router log line(s) dropped: a router could not send them while the route stream was down or behind`);
    }
  }
}
