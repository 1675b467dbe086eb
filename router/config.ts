import os from 'node:os';
import { trustedProxiesProblem } from './trusted.js';

/** What a router process needs: where the route stream is, and how to serve. */
export interface RouterConfig {
  /** The control plane's API (PAAS_API_URL), whose route stream feeds the table. */
  apiUrl: string;
  token: string;
  port: number;
  /** PAAS_ROUTER_TLS_PORT: where it serves HTTPS (0: a free port, for tests). */
  tlsPort: number;
  host: string;
  /** PAAS_DOMAIN: overrides the domain the control plane's snapshot names. */
  domain: string | undefined;
  workers: number;
  /** First byte within this long, else 503 H12 (PAAS_ROUTER_TIMEOUT_MS). */
  timeoutMs: number;
  /** PAAS_TRUSTED_PROXIES as given (each worker parses it; it was checked here). */
  trustedProxies: string;
}

export class RouterConfigError extends Error {}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

function whole(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number, what: string): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new RouterConfigError(`${name}=${JSON.stringify(raw)} is not ${what}.`);
  return n;
}

/**
 * Reads a standalone router's configuration (`paas router`) from `env`. Without PAAS_API_TOKEN, a
 * loopback API's token may come from `localToken` (the CLI's look-up of this user's own server).
 * Throws RouterConfigError with what to set.
 */
export function loadRouterConfig(env: NodeJS.ProcessEnv, localToken?: (api: URL) => string | undefined): RouterConfig {
  const raw = env.PAAS_API_URL;
  if (!raw) throw new RouterConfigError('Set PAAS_API_URL to the paas API the router gets its routes from, for example http://127.0.0.1:5100.');
  let api: URL;
  try {
    api = new URL(raw);
  } catch {
    api = new URL('invalid:');
  }
  if (api.protocol !== 'http:' && api.protocol !== 'https:') throw new RouterConfigError(`PAAS_API_URL=${JSON.stringify(raw)} is not an http(s) URL. Use the API's address, for example http://127.0.0.1:5100.`);
  const token = env.PAAS_API_TOKEN || (LOOPBACK.has(api.hostname) ? localToken?.(api) : undefined);
  if (!token) throw new RouterConfigError('Set PAAS_API_TOKEN to the paas API token (the server prints it on first start; `paas login` keeps it in ~/.netrc).');
  const domain = env.PAAS_DOMAIN?.toLowerCase() || undefined;
  if (domain !== undefined && !/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(domain)) {
    throw new RouterConfigError(`PAAS_DOMAIN=${JSON.stringify(domain)} is not a valid domain name (for example "localhost" or "apps.example.com").`);
  }
  const trustedProxies = env.PAAS_TRUSTED_PROXIES ?? '';
  const problem = trustedProxiesProblem(trustedProxies);
  if (problem) throw new RouterConfigError(problem);
  return {
    apiUrl: api.origin + api.pathname.replace(/\/+$/, ''),
    token,
    port: whole(env, 'PAAS_ROUTER_PORT', 8080, 0, 65535, 'a port number. Set it to an integer from 0 to 65535'),
    tlsPort: whole(env, 'PAAS_ROUTER_TLS_PORT', 8443, 0, 65535, 'a port number. Set it to an integer from 0 to 65535'),
    host: env.PAAS_BIND_HOST || '127.0.0.1',
    domain,
    workers: whole(env, 'PAAS_ROUTER_WORKERS', os.availableParallelism(), 1, 1024, 'a number of worker processes. Set it to a whole number of at least 1'),
    timeoutMs: whole(env, 'PAAS_ROUTER_TIMEOUT_MS', 30_000, 1, 2 ** 31 - 1, 'a positive whole number of milliseconds'),
    trustedProxies,
  };
}
