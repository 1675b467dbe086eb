// A private npm registry of the tests' own: HTTPS with a certificate from a CA the test makes with the
// openssl CLI, serving one scoped package (packed by the real `npm pack`) only to a request with its
// bearer token. Nothing leaves the host.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { expect } from 'vitest';
import { onCleanup } from './cleanup.js';
import { tempDir } from './paas.js';
import { EC_KEY, makeTestCa, openssl } from './pki.js';

export { makeTestCa };

/** The one package it serves. */
export const PRIVATE_PACKAGE = { name: '@paas-test/greeting', version: '1.0.0', says: 'hello from the private registry' };

export interface TestRegistry {
  /** `https://<host>:<port>/`, as an npmrc names a registry. */
  url: string;
  token: string;
  /** The test CA's certificate (PEM file), which alone vouches for the registry. */
  caFile: string;
  /** A line from the middle of the CA's PEM: found wherever a copy of it is. */
  caMarker: string;
  /** Every request it got: the path, and whether it carried the token. */
  requests: { path: string; authorized: boolean }[];
}

/** A CA and a server certificate signed by it for `host` (an IP address) and 127.0.0.1 (in `dir`: ca.pem, server.pem, server.key). */
export function certificates(dir: string, host: string): { ca: { caFile: string; marker: string }; key: string; cert: string } {
  const ca = makeTestCa(dir);
  openssl(['req', '-new', ...EC_KEY, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=paas test registry'], dir);
  const ips = [...new Set([host, '127.0.0.1'])].map((ip) => `IP:${ip}`).join(',');
  fs.writeFileSync(path.join(dir, 'ext.cnf'), `subjectAltName=${ips}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'ext.cnf'], dir);
  return { ca, key: fs.readFileSync(path.join(dir, 'server.key'), 'utf8'), cert: fs.readFileSync(path.join(dir, 'server.pem'), 'utf8') };
}

/** The package's tarball, made by `npm pack` from a package.json and an index.js. */
function pack(dir: string): Buffer {
  const src = path.join(dir, 'package');
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, 'package.json'), JSON.stringify({ name: PRIVATE_PACKAGE.name, version: PRIVATE_PACKAGE.version, main: 'index.js' }));
  fs.writeFileSync(path.join(src, 'index.js'), `module.exports = ${JSON.stringify(PRIVATE_PACKAGE.says)};\n`);
  const file = execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: src, encoding: 'utf8', env: { ...process.env, TMPDIR: dir } }).trim().split('\n').pop()!;
  return fs.readFileSync(path.join(dir, file));
}

/** Starts the registry on `host` (127.0.0.1 unless told: the Docker suite gives the bridge's gateway), stopped when the test or file ends. */
export async function startTestRegistry(host = '127.0.0.1'): Promise<TestRegistry> {
  const dir = tempDir('paas-registry-');
  const { ca, key, cert } = certificates(dir, host);
  const tarball = pack(dir);
  const token = `paas-test-token-${crypto.randomBytes(12).toString('hex')}`;
  const requests: TestRegistry['requests'] = [];
  const tarballPath = `/${PRIVATE_PACKAGE.name}/-/greeting-${PRIVATE_PACKAGE.version}.tgz`;
  let url = '';
  const server = https.createServer({ key, cert }, (req, res) => {
    const wanted = decodeURIComponent((req.url ?? '/').split('?')[0]);
    const authorized = req.headers.authorization === `Bearer ${token}`;
    requests.push({ path: wanted, authorized });
    if (!authorized) {
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer' }).end('{"error":"token required"}');
    } else if (wanted === `/${PRIVATE_PACKAGE.name}`) {
      const dist = {
        tarball: `${url}${tarballPath.slice(1)}`,
        shasum: crypto.createHash('sha1').update(tarball).digest('hex'),
        integrity: `sha512-${crypto.createHash('sha512').update(tarball).digest('base64')}`,
      };
      const { name, version } = PRIVATE_PACKAGE;
      // With the publication times a real registry gives (yarn 4 holds back versions it cannot date).
      const time = { created: '2024-01-01T00:00:00.000Z', modified: '2024-01-01T00:00:00.000Z', [version]: '2024-01-01T00:00:00.000Z' };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ name, 'dist-tags': { latest: version }, time, versions: { [version]: { name, version, main: 'index.js', dist } } }));
    } else if (wanted === tarballPath) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(tarball);
    } else {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
    }
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, host, resolve));
  onCleanup(() => new Promise((resolve) => server.close(resolve).closeAllConnections()));
  url = `https://${host}:${(server.address() as AddressInfo).port}/`;
  return { url, token, caFile: ca.caFile, caMarker: ca.marker, requests };
}

/** An npmrc naming the registry for the @paas-test scope, its token (as `${ENV_NAME}`, from the server's env) and its CA, plus a setting builds do not get. */
export function registryNpmrc(registry: TestRegistry, tokenEnv: string): string {
  const dart = registry.url.replace(/^https:/, '');
  return [`@paas-test:registry=${registry.url}`, `${dart}:_authToken=\${${tokenEnv}}`, `cafile=${registry.caFile}`, 'fund=false', ''].join('\n');
}

/** Asserts that `text` (what a dyno or a build printed) holds nothing of the settings: not the token, the CA or the registry's address. */
export function expectNothingOf(registry: TestRegistry, text: string, where: string): void {
  expect(text, where).not.toContain(registry.token);
  expect(text, where).not.toContain(registry.caMarker);
  expect(text, where).not.toContain(registry.url.replace(/\/$/, ''));
}

/**
 * An app using the private package, with `engines`. Its web process answers with the package's
 * greeting, its Node, what it can read of `peek` and its env; its release phase prints the same.
 */
export function privateApp(engines: Record<string, string>, peek: string[]): Record<string, string> {
  return {
    'package.json': JSON.stringify({ name: 'uses-private', version: '1.0.0', engines, dependencies: { [PRIVATE_PACKAGE.name]: PRIVATE_PACKAGE.version }, scripts: { start: 'node server.js' } }),
    'server.js': `
const fs = require('fs');
const greeting = require(${JSON.stringify(PRIVATE_PACKAGE.name)});
const peek = ${JSON.stringify(peek)};
require('http').createServer((req, res) => {
  const seen = {};
  for (const p of peek) { try { seen[p] = fs.readFileSync(p, 'utf8'); } catch (e) { seen[p] = e.code; } }
  res.end(JSON.stringify({ greeting, node: process.version, seen, env: process.env }));
}).listen(process.env.PORT, '0.0.0.0');
`,
    Procfile: `release: cat ${peek.join(' ')} 2>&1; env; true\n`,
  };
}
