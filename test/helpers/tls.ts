// Certificates made by the openssl CLI for the HTTPS tests: self-signed, for the hostnames and the
// validity a test asks for (past dates too: `openssl ca` takes start and end dates, `req -x509` does not).
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from './paas.js';
import { EC_KEY, openssl } from './pki.js';

export interface TestCert {
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
}

/** openssl's date format: 20260101000000Z. */
const stamp = (d: Date) => `${d.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;

/**
 * A self-signed certificate and its P-256 key for `hostnames` (DNS names in subjectAltName), valid
 * from `from` (an hour ago) until `until` (30 days on).
 */
export function selfSignedCert(hostnames: string[], opts: { from?: Date; until?: Date } = {}): TestCert {
  const dir = tempDir('paas-cert-');
  const run = (args: string[]) => openssl(args, dir);
  run(['req', '-new', ...EC_KEY, '-keyout', 'key.pem', '-out', 'req.csr', '-subj', `/CN=${hostnames[0]}`]);
  fs.mkdirSync(path.join(dir, 'db'));
  fs.writeFileSync(path.join(dir, 'db', 'index.txt'), '');
  fs.writeFileSync(path.join(dir, 'db', 'serial'), `${Date.now().toString(16).padStart(16, '0')}\n`);
  fs.writeFileSync(
    path.join(dir, 'ca.cnf'),
    ['[ca]', 'default_ca = d', '[d]', 'database = db/index.txt', 'new_certs_dir = db', 'serial = db/serial', 'default_md = sha256', 'policy = p', '[p]', 'commonName = supplied', '[ext]',
      `subjectAltName = ${hostnames.map((h) => `DNS:${h}`).join(',')}`, 'basicConstraints = CA:FALSE', 'extendedKeyUsage = serverAuth', ''].join('\n'),
  );
  const from = opts.from ?? new Date(Date.now() - 3_600_000);
  const until = opts.until ?? new Date(Date.now() + 30 * 86_400_000);
  run(['ca', '-batch', '-selfsign', '-config', 'ca.cnf', '-keyfile', 'key.pem', '-in', 'req.csr', '-out', 'cert.pem', '-startdate', stamp(from), '-enddate', stamp(until), '-extensions', 'ext', '-notext']);
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  return { certFile, keyFile, cert: fs.readFileSync(certFile, 'utf8'), key: fs.readFileSync(keyFile, 'utf8') };
}
