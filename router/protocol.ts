/**
 * The route stream: what the control plane tells every router, and what routers send back, as JSON
 * messages over one token-authenticated websocket per router process (`GET /v1/router/stream`).
 * A router gets a snapshot, then changes, in order; it answers drains and sends its request log
 * (as binary log frames, below, to a control plane whose snapshot lists `log-frames`).
 */

/** Bumped when a message changes incompatibly; a router refuses a stream of another version. */
export const PROTOCOL_VERSION = 1;

/**
 * An extension of version 1 a control plane takes, named in its snapshot's `features`: a router
 * uses it only when listed there, so a newer router still logs to an older control plane, and a
 * newer control plane still takes an older router's `logs` messages.
 */
export const LOG_FRAMES = 'log-frames';

/** Where the API serves the stream. */
export const STREAM_PATH = '/v1/router/stream';

/** A web dyno a router may send requests to. */
export interface RouteTarget {
  host: string;
  port: number;
  /** `web.1`: named in router log lines. */
  dyno: string;
  /**
   * The release it runs (7 for v7): with `dyno`, which slot generation it is. A retry never goes to
   * the same slot of the same release (the failed dyno restarted), but may go to another release's
   * `web.1` (the old dynos a revert routes back to).
   */
  release?: number;
}

/** Why an app with no target answers 503: its web dynos crashed or are starting (H10), or it has none (H14). */
export type Unavailable = 'H10' | 'H14';

/** Everything a router knows about one app. */
export interface AppRoute {
  app: string;
  /** The up web dynos of the current release; empty: 503 with `unavailable`'s code. */
  targets: RouteTarget[];
  unavailable: Unavailable;
  /** Maintenance mode: 503 H80 with the maintenance page, whatever the targets. */
  maintenance: boolean;
  /** Custom hostnames, lower case: exact (`www.example.com`) or one wildcard level (`*.example.com`). */
  domains: string[];
  /**
   * The control plane has just started and has not yet found this app's dynos again: a router that
   * already has an entry for the app keeps it until a later `set`, rather than routing nowhere.
   */
  restoring?: boolean;
  /**
   * HTTPS settings: `redirect` answers plain-HTTP requests for a hostname that has a certificate
   * with 308 to https (ACME HTTP-01 paths excepted); `hstsMaxAge` adds Strict-Transport-Security to
   * HTTPS responses. Absent: neither.
   */
  tls?: { redirect: boolean; hstsMaxAge?: number };
}

/** A certificate routers serve by SNI. */
export interface TlsCertificate {
  /** `default` for the operator's own (PAAS_TLS_CERT_FILE). */
  id: string;
  /** Lower case: exact (`www.example.com`) or one wildcard level (`*.example.com`). */
  hostnames: string[];
  /** PEM, leaf first, then the chain. */
  cert: string;
  /** PEM. */
  key: string;
}

/** The ACME challenges in flight, which routers answer. */
export interface TlsChallenges {
  /** HTTP-01: token → key authorization, served at `/.well-known/acme-challenge/<token>`. */
  http01: Record<string, string>;
  /** TLS-ALPN-01 (RFC 8737): the certificate presented to an `acme-tls/1` handshake for `hostname`. */
  tlsAlpn01: { hostname: string; cert: string; key: string }[];
}

/** Control plane → router. */
export type ServerMessage =
  | { type: 'snapshot'; version: number; domain: string; apps: AppRoute[]; features?: string[] }
  | { type: 'set'; route: AppRoute }
  | { type: 'remove'; app: string }
  /** The whole current set of certificates (routers replace theirs): after `snapshot`, and on every change. */
  | { type: 'certs'; certs: TlsCertificate[] }
  /** The whole current set of ACME challenges: after `snapshot`, and on every change. */
  | ({ type: 'challenges' } & TlsChallenges)
  /** Answer with `drained` once nothing is in flight to the target (or after timeoutMs), its idle connections closed. */
  | { type: 'drain'; id: number; host: string; port: number; timeoutMs: number };

/** One router log line for an app's log stream (source `router`). */
export interface RouterLogLine {
  app: string;
  line: string;
  /** When the request ended, in ms since the epoch (the line's time in the log). */
  time?: number;
}

/** Router → control plane. */
export type RouterMessage =
  | { type: 'drained'; id: number; inFlight: number }
  /**
   * Batched request log; `dropped` counts lines the router could not keep while the stream was down
   * or behind. With `log-frames`, the lines go as log frames and this message only carries `dropped`.
   */
  | { type: 'logs'; lines: RouterLogLine[]; dropped?: number };

/**
 * One line of a log frame: a binary websocket message, UTF-8, of lines `<time> <app> <line>\n`
 * (`time` in ms since the epoch). A batch is built by appending these and sent as it is: no object
 * per line and no JSON to write or read on either side, at thousands of requests a second. A router
 * line has no control characters (router/log-line.ts drops them), so it cannot break the framing.
 */
export function logFrameLine(app: string, line: string, time: number): string {
  return `${time} ${app} ${line}\n`;
}

/** The lines of a log frame's text; a line without its two fields is skipped, a time that is no number is NaN. */
export function readLogFrame(text: string): RouterLogLine[] {
  const lines: RouterLogLine[] = [];
  for (let start = 0; start < text.length; ) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const a = text.indexOf(' ', start);
    const b = a < 0 || a >= end ? -1 : text.indexOf(' ', a + 1);
    if (b > a + 1 && b < end) lines.push({ app: text.slice(a + 1, b), line: text.slice(b + 1, end), time: Number(text.slice(start, a)) });
    start = end + 1;
  }
  return lines;
}
