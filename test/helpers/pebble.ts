// A real ACME server, offline: Debian's Pebble and pebble-challtestsrv (its DNS answers 127.0.0.1 for
// every name), on ephemeral loopback ports with a temp config and Pebble's own HTTPS from a test CA
// made by openssl. Pebble validates challenges against the ports it is given: the paas router's.
import { type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { freePort } from '../../server/runtime/free-port.js';
import { spawnChild, tempDir } from './paas.js';
import { certificates } from './registry.js';

export interface Pebble {
  /** The ACME directory URL (PAAS_ACME_DIRECTORY), known before Pebble starts: paas takes it at its own start. */
  directory: string;
  /** The test CA that signed Pebble's own HTTPS certificate (PAAS_ACME_CA_FILE). */
  caFile: string;
  /** Starts challtestsrv (DNS only) and Pebble, validating HTTP-01 on `httpPort` and TLS-ALPN-01 on `tlsPort` (the router's). */
  start(opts: { httpPort: number; tlsPort: number }): Promise<void>;
  /** Pebble's root for the certificates it issues (PEM), from its management endpoint. */
  root(): Promise<string>;
  /** Adds a DNS A record to challtestsrv: `host` resolves to `address` instead of 127.0.0.1. */
  setAddress(host: string, address: string): Promise<void>;
  output(): string;
}

/** Whether Pebble is installed (`apt-get install pebble`; .ci/run installs it). */
export const havePebble = ['/usr/bin/pebble', '/usr/bin/pebble-challtestsrv'].every((f) => fs.existsSync(f));


function get(url: string, ca: string, opts: { method?: string; body?: string } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: opts.method ?? 'GET', ca, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => ((res.statusCode ?? 500) < 300 ? resolve(body) : reject(new Error(`${url}: ${res.statusCode} ${body}`))));
    });
    req.on('timeout', () => req.destroy(new Error(`${url} timed out`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}

async function waitFor(check: () => Promise<unknown>, what: string, child: ChildProcess, out: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`${what} did not start (${(err as Error).message}):\n${out()}`, { cause: err });
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/**
 * A Pebble on ephemeral loopback ports with its test CA, not started yet (paas needs its directory
 * and CA first; Pebble needs the router's ports). Whatever `start` runs is stopped when the test or file ends.
 */
export async function makePebble(): Promise<Pebble> {
  const ports = { acme: await freePort(), management: await freePort(), dns: await freePort(), dnsManagement: await freePort() };
  const dir = tempDir('paas-pebble-');
  const { ca } = certificates(dir, '127.0.0.1');
  const caPem = fs.readFileSync(ca.caFile, 'utf8');
  let out = '';
  const collect = (d: Buffer) => (out += d);
  const directory = `https://127.0.0.1:${ports.acme}/dir`;
  async function start(opts: { httpPort: number; tlsPort: number }): Promise<void> {
    const dns = spawnChild('pebble-challtestsrv', ['-defaultIPv4', '127.0.0.1', '-defaultIPv6', '', '-dns01', `127.0.0.1:${ports.dns}`, '-http01', '', '-https01', '', '-tlsalpn01', '', '-management', `127.0.0.1:${ports.dnsManagement}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    dns.stdout!.on('data', collect);
    dns.stderr!.on('data', collect);
    const config = {
      pebble: {
        listenAddress: `127.0.0.1:${ports.acme}`,
        managementListenAddress: `127.0.0.1:${ports.management}`,
        certificate: path.join(dir, 'server.pem'),
        privateKey: path.join(dir, 'server.key'),
        httpPort: opts.httpPort,
        tlsPort: opts.tlsPort,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
      },
    };
    fs.writeFileSync(path.join(dir, 'pebble.json'), JSON.stringify(config));
    // No sleeps before validations, no refused nonces, no reused authorizations: each order is validated for real.
    const env = { PATH: process.env.PATH!, PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_AUTHZREUSE: '0' };
    const pebble = spawnChild('pebble', ['-config', path.join(dir, 'pebble.json'), '-dnsserver', `127.0.0.1:${ports.dns}`], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    pebble.stdout!.on('data', collect);
    pebble.stderr!.on('data', collect);
    await waitFor(() => get(directory, caPem), 'pebble', pebble, () => out);
    await waitFor(() => fetch(`http://127.0.0.1:${ports.dnsManagement}/`), 'pebble-challtestsrv', dns, () => out);
  }
  return {
    directory,
    caFile: ca.caFile,
    start,
    root: () => get(`https://127.0.0.1:${ports.management}/roots/0`, caPem),
    async setAddress(host, address) {
      const res = await fetch(`http://127.0.0.1:${ports.dnsManagement}/add-a`, { method: 'POST', body: JSON.stringify({ host: `${host}.`, addresses: [address] }) });
      if (!res.ok) throw new Error(`challtestsrv add-a: ${res.status}`);
    },
    output: () => out,
  };
}
