import fs from 'node:fs';
import type net from 'node:net';

/** Listens on `host:port` (port 0 picks a free one) and resolves with the address the kernel bound. */
export function listen(server: net.Server, port: number, host: string): Promise<net.AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server.address() as net.AddressInfo));
  });
}

/** Whether a bound address takes connections on every interface, so from other hosts too. */
export function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}

/** `http://address:port` (or https), with an IPv6 address in brackets as URLs need it. */
export function httpUrl(address: string, port: number, scheme: 'http' | 'https' = 'http'): string {
  return `${scheme}://${address.includes(':') ? `[${address}]` : address}:${port}`;
}

/** The URL this machine's own processes (the git hook, tests) use to reach a listener. */
export function localUrl(bound: net.AddressInfo, scheme: 'http' | 'https' = 'http'): string {
  // A wildcard bind answers on loopback too (`::` is dual-stack), and loopback is always there.
  return httpUrl(isWildcard(bound.address) ? '127.0.0.1' : bound.address, bound.port, scheme);
}

/** The start-up line for a listener: the address really bound, and a warning when that is every interface. */
export function bannerUrl(bound: net.AddressInfo, scheme: 'http' | 'https' = 'http'): string {
  const url = httpUrl(bound.address, bound.port, scheme);
  return isWildcard(bound.address) ? `${url} (every interface: reachable from other hosts; set PAAS_BIND_HOST=127.0.0.1 to keep it local)` : url;
}

/**
 * Writes the API's local URL to `file` (mode 0600, like the token beside it), so that the CLI of the
 * user who runs the server reaches it on whatever PORT it was given, with no PAAS_API_URL to set.
 */
export function recordApiUrl(file: string, url: string): void {
  fs.writeFileSync(file, `${url}\n`, { mode: 0o600 });
}
