import net from 'node:net';
import { InvalidParamsError } from '../../lib/errors.js';

/** RFC 1123: 1 to 63 letters, digits and dashes, not starting or ending with a dash (already lower case). */
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

const EXAMPLE = 'for example www.example.com, or *.example.com for every name one level under example.com';

/** Lower case, without the one trailing dot a fully qualified name may carry: how routers compare Host headers. */
export function normalizeHostname(raw: string): string {
  const lower = raw.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

function invalid(hostname: string, why: string): InvalidParamsError {
  return new InvalidParamsError(`${JSON.stringify(hostname)} cannot be a custom domain: ${why}`);
}

/**
 * The custom domain `raw` names, normalized, or a 422 that says which rule it breaks: RFC 1123
 * labels, at most 253 characters, at least two labels, no port and no IP address, and at most one
 * wildcard, as the whole leftmost label (`*.example.com` routes `a.example.com`, not `a.b.example.com`).
 * Names at or under `paasDomain` are the apps' default names and are refused.
 */
export function parseHostname(raw: unknown, paasDomain: string): string {
  if (typeof raw !== 'string' || raw === '') throw new InvalidParamsError(`Send {"hostname": "www.example.com"}: the hostname to add (${EXAMPLE}).`);
  const hostname = normalizeHostname(raw);
  if (net.isIP(hostname) || net.isIP(hostname.replace(/^\[(.*)\]$/, '$1'))) {
    throw invalid(raw, 'it is an IP address. Add a hostname whose DNS points at the router instead.');
  }
  if (hostname.includes(':')) throw invalid(raw, 'a domain has no port. Give the hostname alone; the router answers on its own port.');
  if (hostname.length > 253) throw invalid(raw, `it is ${hostname.length} characters long, and a hostname has at most 253.`);
  const wildcard = hostname.startsWith('*.');
  const labels = (wildcard ? hostname.slice(2) : hostname).split('.');
  if (labels.includes('*')) throw invalid(raw, 'a wildcard may only be the leftmost label, and only one level deep (*.example.com).');
  if (!labels.every((label) => LABEL.test(label))) {
    throw invalid(raw, `each dot-separated label must be 1 to 63 letters, digits or dashes, not starting or ending with a dash (${EXAMPLE}).`);
  }
  if (labels.length < 2) {
    throw invalid(raw, wildcard ? 'a wildcard needs at least two labels after it (*.example.com, not *.com).' : `it has a single label; use a full name (${EXAMPLE}).`);
  }
  // No top-level domain is all digits; a name ending in one is an IP address in disguise or a typo.
  if (/^\d+$/.test(labels[labels.length - 1])) throw invalid(raw, 'its last label is all digits, which no real domain has.');
  const bare = labels.join('.');
  if (bare === paasDomain || bare.endsWith(`.${paasDomain}`)) {
    throw invalid(raw, `names under ${paasDomain} are the apps' default names (<app>.${paasDomain}), which always work. Add a domain of your own.`);
  }
  return hostname;
}
