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
const CONTROL = /[\x00-\x1f\x7f]/g;
const NEEDS_QUOTES = /[\s"\\\x00-\x1f\x7f]/;
/* eslint-enable no-control-regex */

/**
 * Whether `s` is only printable ASCII but `"` and `\` (and, for a `bare` field, no space): what
 * nearly every field is, found with a loop rather than a regex, as this runs once per request.
 * Anything else takes the regexes, which say exactly what to do with it.
 */
function plain(s: string, bare: boolean): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c === 0x20 && bare) || (c >= 0x7f && (bare || c === 0x7f))) return false;
  }
  return true;
}
const quoted = (s: string): string => (plain(s, false) ? s : s.replace(/["\\]/g, '\\$&').replace(CONTROL, ''));
const bare = (s: string): string => (plain(s, true) || !NEEDS_QUOTES.test(s) ? s : `"${quoted(s)}"`);

/** `at=info method=GET path="/" host=… request_id=… fwd="…" dyno=web.1 connect=0ms service=3ms status=200 bytes=… protocol=http` */
export function formatRouterLine(r: RequestRecord): string {
  const at = r.error ? `at=error code=${r.error.code} desc="${r.error.desc}"` : 'at=info';
  return `${at} method=${bare(r.method)} path="${quoted(r.path)}" host=${bare(r.host)} request_id=${bare(r.requestId)} fwd="${quoted(r.fwd)}" dyno=${r.dyno} connect=${r.connectMs}ms service=${r.serviceMs}ms status=${r.status} bytes=${r.bytes} protocol=http`;
}
