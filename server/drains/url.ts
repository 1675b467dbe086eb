import { InvalidParamsError } from '../../lib/errors.js';

/** Longer than any real drain URL; keeps a pasted blob out of the store and the listing. */
export const MAX_DRAIN_URL = 2048;

const ACCEPTED = 'Drain URLs are syslog+tcp://HOST:PORT, https://HOST[:PORT]/PATH or http://HOST[:PORT]/PATH (user:password@ in an http(s) URL is sent as basic auth)';

export type DrainKind = 'syslog' | 'http';

function refuse(problem: string): never {
  throw new InvalidParamsError(`${problem}. ${ACCEPTED}.`);
}

/**
 * Checks a drain URL at the edge and returns it as given with its kind: only schemes we deliver to,
 * a host, a port for syslog (there is no default a receiver could rely on), nothing a shell or a
 * log line would mangle (spaces, control characters).
 */
export function parseDrainUrl(raw: unknown): { url: string; kind: DrainKind } {
  if (typeof raw !== 'string' || raw === '') refuse('Send {"url": "<drain URL>"}');
  if (raw.length > MAX_DRAIN_URL) refuse(`The URL is ${raw.length} characters long; at most ${MAX_DRAIN_URL} are accepted`);
  // eslint-disable-next-line no-control-regex
  if (/[\s\x00-\x1f\x7f]/.test(raw)) refuse('The URL has spaces or control characters; percent-encode them');
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    refuse(`${raw} is not a URL`);
  }
  if (u.protocol === 'syslog+tcp:') {
    if (!u.hostname) refuse(`${raw} has no host`);
    if (!u.port || u.port === '0') refuse(`${raw} has no port: syslog drains need one, as in syslog+tcp://logs.example.com:514`);
    if (u.username || u.password) refuse(`${raw} has a user and password, which syslog cannot send`);
    if ((u.pathname && u.pathname !== '/') || u.search || u.hash) refuse(`${raw} has a path, query or fragment, which syslog cannot use`);
    return { url: raw, kind: 'syslog' };
  }
  if (u.protocol === 'https:' || u.protocol === 'http:') {
    if (!u.hostname) refuse(`${raw} has no host`);
    if (u.port === '0') refuse(`${raw} has port 0`);
    if (u.hash) refuse(`${raw} has a fragment, which is never sent`);
    return { url: raw, kind: 'http' };
  }
  refuse(`${u.protocol.replace(/:$/, '')} is not a drain scheme`);
}
