import net from 'node:net';
import type tls from 'node:tls';
import { ClientConnection, RECHECK_MS, type RecheckContext } from './connection.js';
import type { ConnectionContext } from './context.js';
import { AUTHORITY, type HeadError, type RequestHead } from './http1/head.js';
import { formatRouterLine, type RequestRecord } from './log-line.js';
import { pageResponse, plainResponse, REASONS, ROUTER_ERRORS, type RouterErrorCode } from './pages.js';
import { type Address, keyOf, UpstreamPool } from './pool.js';
import type { AppRoute, RouteTarget } from './protocol.js';
import { hostName, type RouteTable } from './route-table.js';
import { createTlsFront } from './tls-front.js';
import { ACME_CHALLENGE_PATH } from './tls-store.js';
import type { TrustedProxies } from './trusted.js';

export interface RouterOptions {
  routes: RouteTable;
  /** How long a dyno may take to send the first byte of its response (PAAS_ROUTER_TIMEOUT_MS): then 503 H12. */
  timeoutMs: number;
  /** Idle limit of a keep-alive client connection, and of a response that stops moving (Heroku: 55 s). */
  idleMs?: number;
  /** Peers whose X-Forwarded-For is kept (PAAS_TRUSTED_PROXIES); others' is replaced. */
  trustedProxies?: TrustedProxies;
  /** Receives one Heroku-format router log line per request, and when it ended; must return at once (it batches). */
  log?: (app: string, line: string, time: number) => void;
}

export interface Router {
  server: net.Server;
  /** The HTTPS listener (tls-front.ts): certificates by SNI from the route table's TlsStore. */
  tlsServer: net.Server;
  /** Closes the connections to dynos and every client connection at once. */
  close(): void;
  /**
   * Stops taking connections and lets the requests in flight finish (at most `graceMs`): idle
   * keep-alive connections close now, busy ones after their response.
   */
  stop(graceMs: number): Promise<void>;
  /**
   * For a dyno that has left the route table, before it gets SIGTERM: waits until the requests the
   * router sent it have finished (at most `timeoutMs`), and closes the router's keep-alive
   * connections to it, so an app that drains with `server.close()` has nothing left to wait for.
   * Resolves with the number of requests still in flight when the time ran out (else 0).
   */
  drain(target: Address, timeoutMs: number): Promise<number>;
}

const HEAD_TIMEOUT_MS = 30_000;
/** Shorter than Node's default keep-alive timeout (5 s), so the router is the side that closes idle connections to dynos. */
const UPSTREAM_IDLE_MS = 4000;

/**
 * The HTTP router: maps each request's Host to one of the app's web dynos (round robin) over
 * keep-alive connections, adds the forwarding headers, and writes a Heroku-format log line per
 * request. It speaks HTTP/1.1 itself (router/http1) rather than through node:http, so a request
 * costs one head parse and one head write each way; see docs/benchmarks.md for why.
 */
export function createRouter(opts: RouterOptions): Router {
  const idleMs = opts.idleMs ?? 55_000;
  const pool = new UpstreamPool(UPSTREAM_IDLE_MS);
  const connections = new Set<ClientConnection>();
  const turn = new Map<string, number>();
  /** Dyno ports whose connection closed unanswered, until when requests keep away (connection.ts recheck). */
  const suspects = new Map<string, number>();
  const log = opts.log;
  const certs = opts.routes.tls;

  /** The HTTPS port redirects name: the one the TLS listener is bound to. */
  function tlsPort(): number {
    return (front.server.address() as net.AddressInfo | null)?.port ?? 443;
  }

  /**
   * Plain HTTP to a hostname with a certificate, for an app that wants it: 308 to the same path on
   * HTTPS (method and body kept). ACME's HTTP-01 paths never move: a CA fetches them over HTTP.
   */
  function redirect(tlsOpts: AppRoute['tls'], host: string, path: string, head: RequestHead): string | undefined {
    if (!tlsOpts?.redirect || path[0] !== '/' || path.startsWith(ACME_CHALLENGE_PATH)) return undefined;
    const name = hostName(host);
    if (!certs.covers(name)) return undefined;
    const port = tlsPort();
    return plainResponse(308, 'Permanent Redirect', `Moved to HTTPS.\n`, { location: `https://${name}${port === 443 ? '' : `:${port}`}${path}`, head: head.method === 'HEAD', close: true });
  }

  function pick(app: string, targets: readonly RouteTarget[], avoid?: RouteTarget): RouteTarget | undefined {
    for (let tries = 0; tries < targets.length; tries++) {
      const n = turn.get(app) ?? 0;
      turn.set(app, n + 1);
      const t = targets[n % targets.length];
      // A request a dyno closed unanswered may have killed it: neither its port nor the dyno
      // restarted in its slot (same name and release, at another port) gets it again.
      if (!avoid || ((t.host !== avoid.host || t.port !== avoid.port) && (t.dyno !== avoid.dyno || t.release !== avoid.release))) return t;
    }
    return undefined;
  }

  function errorPage(code: RouterErrorCode, app: string, requestId: string, head: boolean, close: boolean): string {
    const e = ROUTER_ERRORS[code];
    return pageResponse(e.status, REASONS[e.status], e.title, e.text(app), { code, requestId, close, head });
  }

  const ctx: ConnectionContext = {
    pool,
    timeoutMs: opts.timeoutMs,
    idleMs,
    headTimeoutMs: Math.min(HEAD_TIMEOUT_MS, idleMs),
    trusted: (address) => opts.trustedProxies?.has(address) ?? false,
    route(head: RequestHead, host: string, path: string, secure: boolean) {
      // ACME HTTP-01: any Host, since the CA asks for the domain being validated, before any app has it.
      if (!secure && certs.hasHttp01 && path.startsWith(ACME_CHALLENGE_PATH) && (head.method === 'GET' || head.method === 'HEAD')) {
        const keyAuthorization = certs.keyAuthorization(path.slice(ACME_CHALLENGE_PATH.length));
        if (keyAuthorization !== undefined) return { answer: plainResponse(200, 'OK', keyAuthorization, { head: head.method === 'HEAD' }) };
      }
      // A Host that is no host[:port] (userinfo, a path, spaces) names no app: a wildcard domain
      // must not hand `x@a.example.com` on to a dyno. The 404 page escapes what it echoes.
      const r = AUTHORITY.test(host) ? opts.routes.resolve(host) : opts.routes.resolve(undefined);
      if ('tls' in r && r.tls) {
        const moved = secure ? undefined : redirect(r.tls, host, path, head);
        if (moved) return { answer: moved, app: r.app, close: true };
      }
      switch (r.kind) {
        case 'ok': {
          const hsts = secure && r.tls?.hstsMaxAge !== undefined ? `Strict-Transport-Security: max-age=${r.tls.hstsMaxAge}\r\n` : undefined;
          return { app: r.app, target: pick(r.app, r.targets)!, extraHead: hsts };
        }
        case 'maintenance':
          return { answer: '', app: r.app, code: 'H80' as const };
        case 'unavailable':
          return { answer: '', app: r.app, code: r.code };
        case 'no-table':
          return { answer: errorPage('H99', '', '', head.method === 'HEAD', false) };
        default:
          return {
            answer: pageResponse(404, REASONS[404], 'No such app', `There is no app at ${host || 'this address'}. Check the name with \`paas apps\`, or its custom domains with \`paas domains\`.`, {
              head: head.method === 'HEAD',
            }),
          };
      }
    },
    retryTarget: (app, failed) => pick(app, opts.routes.targets(app), failed),
    errorPage,
    refusal: (err: HeadError) => pageResponse(err.status, REASONS[err.status], REASONS[err.status], `The router refused this request: ${err.message}.`, { close: true }),
    log: log ? (app: string, record: RequestRecord, time: number) => log(app, formatRouterLine(record), time) : () => undefined,
  };

  const ports: RecheckContext = {
    // The same object, not the same address: a dyno withdrawn and listed again (restarted) is another.
    listed: (app: string, target: RouteTarget) => opts.routes.targets(app).includes(target),
    suspect: (target: Address) => void suspects.set(keyOf(target), Date.now() + RECHECK_MS),
    suspectFor(target: Address) {
      if (suspects.size === 0) return 0;
      const key = keyOf(target);
      const left = (suspects.get(key) ?? 0) - Date.now();
      if (left <= 0) suspects.delete(key);
      return Math.max(0, left);
    },
  };

  const accept = (socket: net.Socket | tls.TLSSocket) => {
    const conn = new ClientConnection(socket, ctx, ports);
    connections.add(conn);
    socket.once('close', () => connections.delete(conn));
    if (stopping) conn.closeSoon();
  };
  const server = net.createServer({ noDelay: true, allowHalfOpen: true }, accept);
  server.on('error', () => undefined);
  const front = createTlsFront(certs, accept, ctx.headTimeoutMs);

  // One sweep for every timeout: deadlines are plain numbers updated as bytes move, so the hot path
  // arms no timer per request.
  const sweepMs = Math.max(10, Math.min(1000, Math.floor(Math.min(opts.timeoutMs, idleMs) / 10)));
  const sweeper = setInterval(() => {
    const now = Date.now();
    for (const conn of connections) if (conn.deadline <= now) conn.expire();
    pool.sweep(now);
    for (const [key, until] of suspects) if (until <= now) suspects.delete(key);
  }, sweepMs);
  sweeper.unref();

  let stopping = false;
  return {
    server,
    tlsServer: front.server,
    close() {
      clearInterval(sweeper);
      pool.close();
      front.close();
      for (const conn of connections) conn.socket.destroy();
    },
    async stop(graceMs) {
      stopping = true;
      const closing = (s: net.Server) => new Promise<void>((resolve) => (s.listening ? s.close(() => resolve()) : resolve()));
      const closed = Promise.all([closing(server), closing(front.server)]);
      for (const conn of connections) conn.closeSoon();
      const deadline = Date.now() + graceMs;
      while (connections.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      this.close();
      await closed;
    },
    drain: (target, timeoutMs) => pool.drain(target, timeoutMs),
  };
}
