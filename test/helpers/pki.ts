// Certificates for tests and benchmarks, made with the openssl CLI (EC P-256 keys): a CA of the
// test's own and leaf certificates it signs. No vitest here: the benchmarks use it too.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Runs openssl in `cwd`; throws with its stderr if it fails. */
export function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

export const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A new CA of the test's own in `dir` (ca.pem, ca.key), and a line from the middle of its PEM, found wherever a copy of it is. */
export function makeTestCa(dir: string): { caFile: string; marker: string } {
  openssl(['req', '-x509', ...EC_KEY, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', `/CN=paas test CA ${crypto.randomUUID()}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  const pem = fs.readFileSync(path.join(dir, 'ca.pem'), 'utf8').split('\n');
  return { caFile: path.join(dir, 'ca.pem'), marker: pem[Math.floor(pem.length / 2)] };
}

/** A leaf certificate (PEM) and its key. */
export interface Leaf {
  cert: string;
  key: string;
}

/**
 * A leaf for `hostnames` (DNS names, wildcards allowed) signed by the CA in `dir` (makeTestCa first),
 * valid from now for `days`; `name` keeps its files apart from other leaves'.
 */
export function makeLeaf(dir: string, name: string, hostnames: string[], days = 2): Leaf {
  openssl(['req', '-new', ...EC_KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${hostnames[0]}`], dir);
  const san = hostnames.map((h) => `DNS:${h}`).join(',');
  fs.writeFileSync(path.join(dir, `${name}.cnf`), `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', String(days), '-extfile', `${name}.cnf`], dir);
  return { cert: fs.readFileSync(path.join(dir, `${name}.pem`), 'utf8'), key: fs.readFileSync(path.join(dir, `${name}.key`), 'utf8') };
}
