/** What one router log line reports about a request (Heroku's router log format). */
export interface RequestRecord {
  method: string;
  path: string;
  host: string;
  requestId: string;
  fwd: string;
  dyno: string;
  connectMs: number;
  serviceMs: number;
  status: number;
  bytes: number;
  /** Set for the router's own errors: `at=error code=H12 desc="Request timeout"`. */
  error?: { code: string; desc: string };
}

// Quotes are escaped and control characters dropped, so a path cannot end its field or forge a line.
/* eslint-disable no-control-regex -- control characters are exactly what these patterns look for */
const NEEDS_ESCAPE = /["\\\x00-\x1f\x7f]/;
const CONTROL = /[\x00-\x1f\x7f]/g;
const NEEDS_QUOTES = /[\s"\\\x00-\x1f\x7f]/;
/* eslint-enable no-control-regex */
const quoted = (s: string): string => (NEEDS_ESCAPE.test(s) ? s.replace(/["\\]/g, '\\$&').replace(CONTROL, '') : s);
const bare = (s: string): string => (NEEDS_QUOTES.test(s) ? `"${quoted(s)}"` : s);

/** `at=info method=GET path="/" host=… request_id=… fwd="…" dyno=web.1 connect=0ms service=3ms status=200 bytes=… protocol=http` */
export function formatRouterLine(r: RequestRecord): string {
  const at = r.error ? `at=error code=${r.error.code} desc="${r.error.desc}"` : 'at=info';
  return `${at} method=${bare(r.method)} path="${quoted(r.path)}" host=${bare(r.host)} request_id=${bare(r.requestId)} fwd="${quoted(r.fwd)}" dyno=${r.dyno} connect=${r.connectMs}ms service=${r.serviceMs}ms status=${r.status} bytes=${r.bytes} protocol=http`;
}
