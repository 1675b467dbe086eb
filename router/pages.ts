/** The router's own answers, each with Heroku's error code, the status it goes with and a page. */
export const ROUTER_ERRORS = {
  H10: { status: 503, desc: 'App crashed', title: 'Application error', text: (app: string) => `${app} has no web dyno up: it crashed or is starting. Check \`paas logs -a ${app}\` and \`paas ps -a ${app}\`.` },
  H12: { status: 503, desc: 'Request timeout', title: 'Request timeout', text: (app: string) => `${app} did not start answering in time. Check \`paas logs -a ${app}\` for slow requests.` },
  H13: { status: 503, desc: 'Connection closed without response', title: 'Application error', text: (app: string) => `${app} closed the connection without answering. Check \`paas logs -a ${app}\`.` },
  H14: { status: 503, desc: 'No web dynos running', title: 'No web dynos running', text: (app: string) => `${app} has no web dynos running. If its Procfile declares a web process, scale it up with \`paas ps:scale web=1 -a ${app}\`; without one (a worker-only app), it answers no HTTP. Not deployed yet? \`git push paas main\`.` },
  H80: { status: 503, desc: 'Maintenance mode', title: 'Down for maintenance', text: (app: string) => `${app} is down for maintenance and will be back shortly.` },
  H99: { status: 503, desc: 'Platform error', title: 'Platform error', text: () => 'The router has no route table yet (it is starting, or cannot reach the paas control plane). Try again in a moment.' },
} as const;

export type RouterErrorCode = keyof typeof ROUTER_ERRORS;

/** The `code` and `desc` a router log line gives one of the router's own errors. */
export function routerError(code: RouterErrorCode): { code: string; desc: string } {
  return { code, desc: ROUTER_ERRORS[code].desc };
}

const HTML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** `text` made safe to place in HTML text or a quoted attribute. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ENTITIES[c]);
}

/**
 * A complete HTTP response (head and HTML body) as one latin1 string; everything it echoes is
 * escaped here, once. `close` adds `Connection: close`.
 */
export function pageResponse(status: number, reason: string, title: string, text: string, opts: { code?: string; requestId?: string; close?: boolean; head?: boolean }): string {
  const code = opts.code ? ` <small>(${opts.code})</small>` : '';
  const body = Buffer.from(
    `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}${code}</h1><p>${escapeHtml(text)}</p></body></html>\n`,
    'utf8',
  );
  let head = `HTTP/1.1 ${status} ${reason}\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: ${body.length}\r\ncache-control: no-store\r\n`;
  if (opts.requestId) head += `x-request-id: ${opts.requestId}\r\n`;
  if (status === 503) head += 'retry-after: 5\r\n';
  head += opts.close ? 'connection: close\r\n\r\n' : '\r\n';
  return opts.head ? head : head + body.toString('latin1');
}

/**
 * A complete text/plain response the router gives itself (an ACME key authorization, a redirect's
 * note), with a Location field for a redirect. `location` must come from checked parts: it is not escaped.
 */
export function plainResponse(status: number, reason: string, text: string, opts: { location?: string; close?: boolean; head?: boolean } = {}): string {
  const body = Buffer.from(text, 'utf8');
  let head = `HTTP/1.1 ${status} ${reason}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${body.length}\r\ncache-control: no-store\r\n`;
  if (opts.location) head += `location: ${opts.location}\r\n`;
  head += opts.close ? 'connection: close\r\n\r\n' : '\r\n';
  return opts.head ? head : head + body.toString('latin1');
}

export const REASONS: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  414: 'URI Too Long',
  431: 'Request Header Fields Too Large',
  501: 'Not Implemented',
  503: 'Service Unavailable',
  505: 'HTTP Version Not Supported',
};
