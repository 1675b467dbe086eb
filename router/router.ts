import http from 'node:http';
import type { Duplex } from 'node:stream';
import { createProxyServer } from 'http-proxy-3';
import type { RouteTable, Target } from './route-table.js';

export interface RouterOptions {
  routes: RouteTable;
  /** Apps answer at `<app>.<domain>`. */
  domain: string;
  /** How long a dyno may stay silent (before or during its response) before the router gives up. */
  timeoutMs: number;
}

/** The app name from a Host header such as `myapp.localhost:8080`, or undefined when it is not ours. */
export function appFromHost(host: string | undefined, domain: string): string | undefined {
  if (!host) return undefined;
  const name = host.toLowerCase().replace(/:\d+$/, '').replace(/\.$/, '');
  const suffix = `.${domain}`;
  if (!name.endsWith(suffix)) return undefined;
  const app = name.slice(0, -suffix.length);
  return app && !app.includes('.') ? app : undefined;
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

/**
 * The HTTP router: maps each request's Host to one of the app's web dynos (round robin) over
 * keep-alive connections. It never throws on a dyno's failure: the client gets a 502 page instead.
 */
export function createRouter(opts: RouterOptions): { server: http.Server; close(): void } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
  const proxy = createProxyServer({ agent, xfwd: true, proxyTimeout: opts.timeoutMs });
  // Errors are handled per request below; this keeps an unhandled 'error' event from ever crashing us.
  proxy.on('error', () => undefined);
  // http-proxy-3 ends a timed-out request with the same error as a dyno that hung up; remember which it was.
  const timedOut = new WeakSet<http.IncomingMessage>();
  proxy.on('proxyReq', (proxyReq, req) => proxyReq.once('timeout', () => timedOut.add(req)));
  // http-proxy-3 pipes the dyno's response into the client's, and a pipe does not end its target when
  // the source is cut off (the dyno died or timed out mid-body): the client would wait forever. Cut
  // the client off too, so it sees a short body at once.
  proxy.on('proxyRes', (proxyRes, _req, res) => {
    proxyRes.once('close', () => {
      if (!proxyRes.complete) res.destroy();
    });
  });
  const turn = new Map<string, number>();

  function pick(app: string, targets: readonly Target[]): string {
    const n = turn.get(app) ?? 0;
    turn.set(app, n + 1);
    const t = targets[n % targets.length];
    return `http://${t.host}:${t.port}`;
  }

  function lookup(host: string | undefined): { app: string; target?: string; status?: 404 | 503 } {
    const app = appFromHost(host, opts.domain);
    if (!app) return { app: '', status: 404 };
    const route = opts.routes.resolve(app);
    if (route.kind === 'unknown') return { app, status: 404 };
    if (route.kind === 'unavailable') return { app, status: 503 };
    return { app, target: pick(app, route.targets) };
  }

  const server = http.createServer((req, res) => {
    const found = lookup(req.headers.host);
    if (found.status === 404) return page(res, 404, 'No such app', `There is no app at ${req.headers.host ?? 'this address'}. Check the name with \`paas apps\`.`);
    if (found.status === 503) return page(res, 503, 'Application unavailable', `${found.app} has no running web dyno. Deploy it with \`git push paas main\`, or check \`paas logs\`.`);
    proxy.web(req, res, { target: found.target! }, () =>
      timedOut.has(req)
        ? page(res, 504, 'Gateway timeout', `${found.app} did not answer within ${opts.timeoutMs / 1000} s. Check \`paas logs -a ${found.app}\`.`)
        : page(res, 502, 'Bad gateway', `${found.app} did not answer. Check \`paas logs -a ${found.app}\`.`),
    );
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const found = lookup(req.headers.host);
    if (!found.target) {
      socket.end(`HTTP/1.1 ${found.status === 404 ? '404 Not Found' : '503 Service Unavailable'}\r\nconnection: close\r\n\r\n`);
      return;
    }
    proxy.ws(req, socket, head, { target: found.target }, () => socket.destroy());
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  return { server, close: () => agent.destroy() };
}
