import http from 'node:http';
import type { Duplex } from 'node:stream';
import { createProxyServer } from 'http-proxy-3';
import { InFlight } from './in-flight.js';
import type { RouteTarget as Target } from './protocol.js';
import type { RouteTable } from './route-table.js';
import type { TrustedProxies } from './trusted.js';

export interface RouterOptions {
  routes: RouteTable;
  /** How long a dyno may stay silent (before or during its response) before the router gives up. */
  timeoutMs: number;
  /** Peers whose X-Forwarded-For is kept (PAAS_TRUSTED_PROXIES); others' is replaced. */
  trustedProxies?: TrustedProxies;
  /** Receives one Heroku-format router log line per request; must return at once (it batches). */
  log?: (app: string, line: string) => void;
}

const HTML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** `text` made safe to place in HTML text or a quoted attribute. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ENTITIES[c]);
}

// Every error page goes through here, so whatever a page echoes (the Host, an app name) is escaped once.
function page(res: http.ServerResponse, status: number, title: string, text: string): void {
  if (res.headersSent) return void res.destroy();
  const [t, p] = [escapeHtml(title), escapeHtml(text)];
  const body = `<!doctype html><html><head><meta charset="utf-8"><title>${t}</title></head><body><h1>${t}</h1><p>${p}</p></body></html>\n`;
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}

// Why a failed request may be retried, once: during a rollout or a scale-down a dyno goes away
// (its port closes, or it closes the keep-alive sockets the router holds just as a request is
// written on one), and the client should not see that as an error when another attempt is safe.
// It is safe only when nothing of the request is lost and the dyno cannot have acted on it:
// - the request has no body (none to replay: what was piped to the dead dyno is gone);
// - no byte of the response came back (else the client may already be reading the first answer);
// - the dyno never saw it (the connection was refused), or it was cut before answering and the
//   method is idempotent (RFC 9110 9.2.2: a dyno that read a POST and died may have acted on it);
// - it did not time out (a slow dyno stays a 504, not two slow requests).
// The retry goes to the next dyno of the app in the round robin, on a fresh connection (the pool
// may hold more stale sockets to it); to the same dyno only if it is the app's only one and the
// failure was a stale reused socket, where a fresh connection may well succeed.
const NEVER_CONNECTED = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH']);
const CUT_OFF = new Set(['ECONNRESET', 'EPIPE']);
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/** Whether `req` carries a body; read before http-proxy-3 rewrites the headers of DELETE and OPTIONS. */
function hasBody(req: http.IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** Takes back what http-proxy-3's xfwd appended to `req.headers`, so a retry names the client once. */
function undoForwardedFor(req: http.IncomingMessage): void {
  for (const name of ['x-forwarded-for', 'x-forwarded-port', 'x-forwarded-proto']) {
    const value = req.headers[name];
    if (typeof value !== 'string') continue;
    const comma = value.lastIndexOf(',');
    if (comma < 0) delete req.headers[name];
    else req.headers[name] = value.slice(0, comma);
  }
}

const sameTarget = (a: Target, b: Target): boolean => a.host === b.host && a.port === b.port;
const url = (t: Target): string => `http://${t.host}:${t.port}`;

/** The connection a request went out on: whether the agent reused it, and how much it had read by then. */
interface Sent {
  socket: { readonly bytesRead: number };
  bytesBefore: number;
  reused: boolean;
}

export interface Router {
  server: http.Server;
  /** Closes the connections to dynos. */
  close(): void;
  /**
   * For a dyno that has left the route table, before it gets SIGTERM: waits until the requests the
   * router sent it have finished (at most `timeoutMs`), and closes the router's keep-alive
   * connections to it, so an app that drains with `server.close()` has nothing left to wait for.
   * Resolves with the number of requests still in flight when the time ran out (else 0).
   */
  drain(target: { host: string; port: number }, timeoutMs: number): Promise<number>;
}

/**
 * The HTTP router: maps each request's Host to one of the app's web dynos (round robin) over
 * keep-alive connections. It never throws on a dyno's failure: a request that may safely go
 * again goes once more to another dyno (see above), else the client gets a 502 page.
 */
export function createRouter(opts: RouterOptions): Router {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
  const inFlight = new InFlight(agent);
  // The dyno each request's current attempt went to, to know where its pooled connection leads.
  const attempt = new WeakMap<http.IncomingMessage, Target>();
  const proxy = createProxyServer({ agent, xfwd: true, proxyTimeout: opts.timeoutMs });
  // Errors are handled per request below; this keeps an unhandled 'error' event from ever crashing us.
  proxy.on('error', () => undefined);
  // http-proxy-3 ends a timed-out request with the same error as a dyno that hung up; remember which it was.
  const timedOut = new WeakSet<http.IncomingMessage>();
  // Whether any byte of the response came back, and over a reused socket, for a retry to decide.
  const sent = new WeakMap<http.IncomingMessage, Sent>();
  proxy.on('proxyReq', (proxyReq, req, _res, _options, socket) => {
    proxyReq.once('timeout', () => timedOut.add(req));
    sent.set(req, { socket, bytesBefore: socket.bytesRead, reused: proxyReq.reusedSocket });
    const target = attempt.get(req);
    if (target) inFlight.sentOn(target, socket);
  });
  // http-proxy-3 pipes the dyno's response into the client's, and a pipe does not end its target when
  // the source is cut off (the dyno died or timed out mid-body): the client would wait forever. Cut
  // the client off too, so it sees a short body at once.
  proxy.on('proxyRes', (proxyRes, _req, res) => {
    proxyRes.once('close', () => {
      if (!proxyRes.complete) res.destroy();
    });
  });
  const turn = new Map<string, number>();

  /** The app's next target in the round robin, passing over `avoid`; undefined if there is no other. */
  function pick(app: string, targets: readonly Target[], avoid?: Target): Target | undefined {
    for (let tries = 0; tries < targets.length; tries++) {
      const n = turn.get(app) ?? 0;
      turn.set(app, n + 1);
      const t = targets[n % targets.length];
      if (!avoid || !sameTarget(t, avoid)) return t;
    }
    return undefined;
  }

  function lookup(host: string | undefined): { app: string; target?: Target; status?: 404 | 503 } {
    const route = opts.routes.resolve(host);
    if (route.kind === 'unknown' || route.kind === 'no-table') return { app: '', status: 404 };
    const target = route.kind === 'ok' ? pick(route.app, route.targets) : undefined;
    return target ? { app: route.app, target } : { app: route.app, status: 503 };
  }

  /** Where a failed first attempt at `req` may go again, or undefined when it must not (see above). */
  function retryTarget(req: http.IncomingMessage, res: http.ServerResponse, app: string, failed: Target, err: Error): Target | undefined {
    if (timedOut.has(req) || res.headersSent || res.destroyed || req.socket.destroyed) return undefined;
    const code = (err as NodeJS.ErrnoException).code ?? '';
    let stale = false;
    if (!NEVER_CONNECTED.has(code)) {
      const out = sent.get(req);
      if (!CUT_OFF.has(code) || !IDEMPOTENT.has(req.method ?? '') || !out || out.socket.bytesRead !== out.bytesBefore) return undefined;
      stale = out.reused;
    }
    return pick(app, opts.routes.targets(app), failed) ?? (stale ? failed : undefined);
  }

  function forward(req: http.IncomingMessage, res: http.ServerResponse, app: string, target: Target, mayRetry: boolean, retry = false): void {
    let failed = false;
    // In flight to this dyno until the client's response is done, or this attempt failed.
    const end = inFlight.begin(target);
    res.once('close', end);
    attempt.set(req, target);
    proxy.web(req, res, retry ? { target: url(target), agent: false } : { target: url(target) }, (err) => {
      // Each attempt listens for errors of the client's request too: answer for one attempt, once.
      if (failed) return;
      failed = true;
      end();
      const next = mayRetry ? retryTarget(req, res, app, target, err) : undefined;
      if (next) {
        undoForwardedFor(req);
        return forward(req, res, app, next, false, true);
      }
      if (timedOut.has(req)) page(res, 504, 'Gateway timeout', `${app} did not answer within ${opts.timeoutMs / 1000} s. Check \`paas logs -a ${app}\`.`);
      else page(res, 502, 'Bad gateway', `${app} did not answer. Check \`paas logs -a ${app}\`.`);
    });
  }

  const server = http.createServer((req, res) => {
    const found = lookup(req.headers.host);
    if (found.status === 404) return page(res, 404, 'No such app', `There is no app at ${req.headers.host ?? 'this address'}. Check the name with \`paas apps\`.`);
    if (!found.target) return page(res, 503, 'Application unavailable', `${found.app} has no running web dyno. Deploy it with \`git push paas main\`, or check \`paas logs\`.`);
    forward(req, res, found.app, found.target, !hasBody(req));
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const found = lookup(req.headers.host);
    if (!found.target) {
      socket.end(`HTTP/1.1 ${found.status === 404 ? '404 Not Found' : '503 Service Unavailable'}\r\nconnection: close\r\n\r\n`);
      return;
    }
    proxy.ws(req, socket, head, { target: url(found.target) }, () => socket.destroy());
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  return { server, close: () => agent.destroy(), drain: (target, timeoutMs) => inFlight.drain(target, timeoutMs) };
}
