/**
 * Strict HTTP/1.x head parsing for the router's hot path. The router forwards bodies byte for byte,
 * so it must agree with the dyno on where each message ends: anything ambiguous (both
 * Content-Length and Transfer-Encoding, two different lengths, a line folded or ending in a bare LF,
 * a byte a field may not hold) is refused rather than guessed at. That is what stops request
 * smuggling: no two parsers can read the same bytes as different messages.
 */

/** The request line may be this long before 414, and the header fields together this long before 431. */
export const MAX_REQUEST_LINE = 8192;
export const MAX_HEADER_BYTES = 8192;
const MAX_FIELDS = 200;

/** One header field as received: its name lower-cased for lookups, the raw line kept for forwarding. */
export interface Field {
  name: string;
  value: string;
  /** `Name: value`, exactly as it came (less the CRLF). */
  raw: string;
}

/** How the message's body is delimited. */
export type Framing = { kind: 'none' } | { kind: 'length'; length: number } | { kind: 'chunked' } | { kind: 'close' };

export interface RequestHead {
  method: string;
  target: string;
  /** 1.0 or 1.1 */
  minor: 0 | 1;
  fields: Field[];
  framing: Framing;
  host: string | undefined;
  /** The client asked to keep the connection (1.1 without `close`, or 1.0 with `keep-alive`). */
  keepAlive: boolean;
  /** An Upgrade request (websocket): Connection names upgrade and Upgrade is set. */
  upgrade: boolean;
  /** Bytes of the head, CRLFCRLF included. */
  size: number;
}

export interface ResponseHead {
  status: number;
  /** The status line as received, without CRLF. */
  line: string;
  fields: Field[];
  /** Framing before the request method is considered (HEAD, 1xx, 204, 304 have no body). */
  framing: Framing;
  keepAlive: boolean;
  size: number;
}

/** Why a head was refused: the status to answer with and a short reason for the log. */
export class HeadError extends Error {
  constructor(
    readonly status: 400 | 414 | 431 | 501 | 505,
    message: string,
  ) {
    super(message);
  }
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// A field value: visible ASCII, obs-text, space and tab; never CR, LF or NUL. (Control characters are the point.)
// eslint-disable-next-line no-control-regex
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;
// eslint-disable-next-line no-control-regex
const BAD_TARGET = /[\x00-\x20\x7f]/;
const DIGITS = /^\d{1,15}$/;
/**
 * A Host value or absolute-form authority (RFC 9110 4.2.3, 7.2): a reg-name, IPv4 or bracketed IPv6
 * literal, then an optional port. No userinfo, path or space: routing and the dyno must read the same name.
 */
export const AUTHORITY = /^(?:[A-Za-z0-9._~!$&'()*+,;=%-]*|\[[0-9A-Fa-f:.]+\])(?::\d{0,5})?$/;

const CRLFCRLF = Buffer.from('\r\n\r\n');

/**
 * Where the head ends in `buf` (index after CRLFCRLF), or -1 if it has not all arrived. `from` is how
 * much of `buf` an earlier call already searched: a head trickled in byte by byte costs each byte's
 * worth of search, not the whole head's again (which made slowloris heads quadratic in CPU).
 */
export function headEnd(buf: Buffer, from = 0): number {
  const i = buf.indexOf(CRLFCRLF, Math.max(0, from - 3));
  return i < 0 ? -1 : i + 4;
}

/**
 * Checks what is known before the head is complete: a request line longer than allowed is 414 at
 * once, a head past both limits 431, so a client cannot make the router hold more than that.
 * Bytes before `from` were checked by an earlier call.
 */
export function checkPartialRequest(buf: Buffer, from = 0): void {
  for (let i = buf.indexOf(0x0a, from); i >= 0; i = buf.indexOf(0x0a, i + 1)) {
    if (i === 0 || buf[i - 1] !== 0x0d) throw new HeadError(400, 'bare LF in the request head');
  }
  const lineEnd = buf.indexOf('\r\n');
  if ((lineEnd < 0 ? buf.length : lineEnd) > MAX_REQUEST_LINE) throw new HeadError(414, 'request line too long');
  if (lineEnd >= 0 && buf.length - lineEnd - 2 > MAX_HEADER_BYTES + 2) throw new HeadError(431, 'request headers too large');
}

function parseFields(text: string, start: number, end: number, isRequest: boolean): Field[] {
  const fields: Field[] = [];
  let at = start;
  while (at < end) {
    const eol = text.indexOf('\r\n', at);
    const raw = text.slice(at, eol);
    at = eol + 2;
    if (raw.includes('\n')) throw new HeadError(400, 'bare LF in a header line');
    const colon = raw.indexOf(':');
    if (colon <= 0) throw new HeadError(400, raw[0] === ' ' || raw[0] === '\t' ? 'folded header line' : 'header line without a name');
    const rawName = raw.slice(0, colon);
    if (!TOKEN.test(rawName)) throw new HeadError(400, 'invalid header name');
    // Only SP and HTAB are optional whitespace (RFC 9112 5.1): String#trim would also take \v, \f and
    // NBSP away, so `Transfer-Encoding: chunked\v` would be chunked here and unknown to a dyno (TE.TE).
    const value = trimOws(raw, colon + 1);
    if (BAD_VALUE.test(value)) throw new HeadError(400, 'invalid byte in a header value');
    fields.push({ name: rawName.toLowerCase(), value, raw });
    if (isRequest && fields.length > MAX_FIELDS) throw new HeadError(431, 'too many header fields');
  }
  return fields;
}

function trimOws(s: string, from: number): string {
  let start = from;
  let end = s.length;
  while (start < end && (s.charCodeAt(start) === 0x20 || s.charCodeAt(start) === 0x09)) start++;
  while (end > start && (s.charCodeAt(end - 1) === 0x20 || s.charCodeAt(end - 1) === 0x09)) end--;
  return s.slice(start, end);
}

/** The comma-separated tokens of every field called `name`, lower-cased. */
export function listOf(fields: Field[], name: string): string[] {
  const out: string[] = [];
  for (const f of fields) {
    if (f.name !== name) continue;
    for (const part of f.value.split(',')) {
      const token = trimOws(part, 0).toLowerCase();
      if (token) out.push(token);
    }
  }
  return out;
}

/** The message framing from Content-Length and Transfer-Encoding (RFC 9112 6.3), refusing ambiguity. */
function framingOf(fields: Field[], isRequest: boolean): Framing {
  let length: string | undefined;
  let chunked = false;
  let te = false;
  for (const f of fields) {
    if (f.name === 'content-length') {
      // Several equal values (or one list of them) are one length; different ones are an attack or a bug.
      for (const part of f.value.split(',')) {
        const v = trimOws(part, 0);
        if (!DIGITS.test(v)) throw new HeadError(400, 'invalid Content-Length');
        if (length !== undefined && Number(length) !== Number(v)) throw new HeadError(400, 'conflicting Content-Length values');
        length = v;
      }
    } else if (f.name === 'transfer-encoding') {
      te = true;
      const codings = f.value.split(',').map((s) => trimOws(s, 0).toLowerCase());
      if (chunked || codings.some((c, i) => c === 'chunked' && i !== codings.length - 1)) throw new HeadError(400, 'chunked is not the final transfer coding');
      chunked = codings[codings.length - 1] === 'chunked';
      if (isRequest && (codings.length !== 1 || !chunked)) throw new HeadError(501, 'unsupported Transfer-Encoding');
    }
  }
  if (te && length !== undefined) throw new HeadError(400, 'both Content-Length and Transfer-Encoding');
  if (te) return chunked ? { kind: 'chunked' } : { kind: 'close' };
  if (length !== undefined) return Number(length) === 0 ? { kind: 'none' } : { kind: 'length', length: Number(length) };
  return isRequest ? { kind: 'none' } : { kind: 'close' };
}

function keepAliveOf(fields: Field[], minor: number): boolean {
  const connection = listOf(fields, 'connection');
  return minor === 1 ? !connection.includes('close') : connection.includes('keep-alive');
}

/** Parses a complete request head (`text` ends with CRLFCRLF at `end`); throws HeadError. */
export function parseRequestHead(text: string, end: number): RequestHead {
  const lineEnd = text.indexOf('\r\n');
  if (lineEnd > MAX_REQUEST_LINE) throw new HeadError(414, 'request line too long');
  if (end - lineEnd - 2 > MAX_HEADER_BYTES + 2) throw new HeadError(431, 'request headers too large');
  const line = text.slice(0, lineEnd);
  if (line.includes('\n')) throw new HeadError(400, 'bare LF in the request line');
  const sp1 = line.indexOf(' ');
  const sp2 = line.indexOf(' ', sp1 + 1);
  if (sp1 <= 0 || sp2 < 0 || line.indexOf(' ', sp2 + 1) >= 0) throw new HeadError(400, 'malformed request line');
  const method = line.slice(0, sp1);
  const target = line.slice(sp1 + 1, sp2);
  const version = line.slice(sp2 + 1);
  if (!TOKEN.test(method)) throw new HeadError(400, 'invalid method');
  if (!target || BAD_TARGET.test(target)) throw new HeadError(400, 'invalid request target');
  if (version !== 'HTTP/1.1' && version !== 'HTTP/1.0') throw new HeadError(version.startsWith('HTTP/') ? 505 : 400, 'unsupported HTTP version');
  if (method === 'CONNECT') throw new HeadError(501, 'CONNECT is not supported');
  const minor = version === 'HTTP/1.1' ? 1 : 0;
  const fields = parseFields(text, lineEnd + 2, end - 2, true);
  let host: string | undefined;
  let hosts = 0;
  for (const f of fields) {
    if (f.name !== 'host') continue;
    host = f.value;
    hosts++;
  }
  if (hosts > 1 || (minor === 1 && hosts === 0)) throw new HeadError(400, 'missing or repeated Host');
  const connection = listOf(fields, 'connection');
  const upgrade = connection.includes('upgrade') && fields.some((f) => f.name === 'upgrade');
  return { method, target, minor, fields, framing: framingOf(fields, true), host, keepAlive: keepAliveOf(fields, minor), upgrade, size: end };
}

/** Parses a complete response head from a dyno; throws HeadError(400) when it is not valid HTTP/1.x. */
export function parseResponseHead(text: string, end: number): ResponseHead {
  const lineEnd = text.indexOf('\r\n');
  const line = text.slice(0, lineEnd);
  const m = /^HTTP\/1\.([01]) (\d{3})(?: [^\r\n]*)?$/.exec(line);
  if (!m) throw new HeadError(400, 'malformed status line');
  const fields = parseFields(text, lineEnd + 2, end - 2, false);
  return { status: Number(m[2]), line, fields, framing: framingOf(fields, false), keepAlive: keepAliveOf(fields, Number(m[1])), size: end };
}
