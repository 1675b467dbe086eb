// A load generator for the zero-downtime tests: N clients, each with its own keep-alive agent (one
// connection to the router, reused request after request, as a browser or an upstream proxy holds
// one), send requests through the router with an app's Host header, one after another, until
// stopped: GETs, or for the first `posting` clients POSTs with a small body (which the router may
// never send twice, so only the drain keeps them whole).
// Every request is counted; a request that errors or times out is a failure, and any answer that is
// not 2xx is recorded with its status and the start of its body, so a failing test says what broke.
import http from 'node:http';
import { onCleanup } from './cleanup.js';
import type { Paas } from './paas.js';

export interface LoadReport {
  requests: number;
  /** Requests that got no response: connection errors and timeouts. */
  failed: string[];
  /** Responses with a status outside 200-299. */
  non2xx: string[];
  /** How many 2xx bodies each distinct `key(body)` had, to show which releases answered. */
  seen: Map<string, number>;
}

export interface Load {
  /** Requests answered so far (any status). */
  readonly count: number;
  /** How many 2xx answers had `key(body)` equal to `value` so far. */
  seenCount(value: string): number;
  /** Stops the clients after their current request, and reports. */
  stop(): Promise<LoadReport>;
}

/** How long one request may take before it counts as failed. */
const REQUEST_TIMEOUT_MS = 10_000;

/**
 * Starts `clients` keep-alive clients against `host` through the router. Bounded: each client stops
 * at stop(), after `maxMs`, or after `maxRequests` in all, whichever comes first, and they are
 * stopped when the test ends should it never call stop().
 */
export function startLoad(
  paas: Paas,
  host: string,
  opts: { clients?: number; maxMs?: number; maxRequests?: number; key?: (body: string) => string; posting?: number } = {},
): Load {
  const clients = opts.clients ?? 16;
  const deadline = Date.now() + (opts.maxMs ?? 5 * 60_000);
  const maxRequests = opts.maxRequests ?? 2_000_000;
  const key = opts.key ?? ((body: string) => body);
  const report: LoadReport = { requests: 0, failed: [], non2xx: [], seen: new Map() };
  let stopped = false;
  const agents: http.Agent[] = [];

  const once = (agent: http.Agent, body: string | undefined): Promise<void> =>
    new Promise((resolve) => {
      const started = Date.now();
      let settled = false;
      // Counts the request once, whichever of its events comes first.
      const settle = (record: () => void) => {
        if (settled) return;
        settled = true;
        report.requests += 1;
        record();
        resolve();
      };
      const headers = { host, ...(body === undefined ? {} : { 'content-type': 'text/plain', 'content-length': String(Buffer.byteLength(body)) }) };
      const req = http.request({ host: '127.0.0.1', port: paas.routerPort, method: body === undefined ? 'GET' : 'POST', path: '/', headers, agent }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('error', (err) => settle(() => report.failed.push(`${err.message} (response cut off after ${Date.now() - started} ms)`)));
        res.on('end', () =>
          settle(() => {
            const status = res.statusCode ?? 0;
            if (status < 200 || status > 299) return void report.non2xx.push(`${status}: ${text.slice(0, 300)}`);
            const k = key(text);
            report.seen.set(k, (report.seen.get(k) ?? 0) + 1);
          }),
        );
      });
      req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS / 1000} s`)));
      req.on('error', (err: NodeJS.ErrnoException) => settle(() => report.failed.push(`${err.code ?? ''} ${err.message} (after ${Date.now() - started} ms)`)));
      req.end(body);
    });

  const running = Array.from({ length: clients }, async (_, client) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    agents.push(agent);
    const body = client < (opts.posting ?? 0) ? `order ${client}` : undefined;
    while (!stopped && Date.now() < deadline && report.requests < maxRequests) await once(agent, body);
    agent.destroy();
  });
  const stop = async (): Promise<LoadReport> => {
    stopped = true;
    await Promise.all(running);
    return report;
  };
  onCleanup(async () => {
    await stop();
    for (const a of agents) a.destroy();
  });
  return {
    get count() {
      return report.requests;
    },
    seenCount: (value) => report.seen.get(value) ?? 0,
    stop,
  };
}
