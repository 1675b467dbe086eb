import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PaasError } from '../../lib/errors.js';

/** A certificate refused (not PEM, wrong key, expired…): 422 with a stable id per reason. */
export class CertificateError extends PaasError {
  constructor(id: string, message: string) {
    super(id, 422, message);
  }
}

/** What paas keeps about a certificate, read from its leaf. */
export interface CertInfo {
  /** PEM, leaf first then the rest of the chain as given. */
  cert: string;
  key: string;
  /** Lower case, from subjectAltName's DNS names (the subject's CN when it has none). */
  hostnames: string[];
  notBefore: Date;
  notAfter: Date;
  /** The issuer's organization, else its common name. */
  issuer: string;
  /** SHA-256 of the leaf, colon-separated hex, as openssl prints it. */
  fingerprint: string;
}

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function field(dn: string, name: string): string | undefined {
  return dn.split('\n').find((l) => l.startsWith(`${name}=`))?.slice(name.length + 1);
}

function hostnamesOf(leaf: crypto.X509Certificate): string[] {
  const sans = (leaf.subjectAltName ?? '').split(/,\s*/).filter((s) => s.startsWith('DNS:')).map((s) => s.slice(4).toLowerCase());
  if (sans.length) return [...new Set(sans)];
  const cn = field(leaf.subject, 'CN');
  return cn ? [cn.toLowerCase()] : [];
}

/**
 * Parses and checks a certificate and its key as a router would serve them: PEM, the key matches the
 * leaf (the first certificate), and valid at `now`. Throws CertificateError saying what to fix.
 */
export function inspectCertificate(certPem: unknown, keyPem: unknown, now = new Date()): CertInfo {
  if (typeof certPem !== 'string' || !certPem.match(CERT_BLOCK)) {
    throw new CertificateError('cert_not_pem', 'CERT_FILE is not a PEM certificate (it should begin with -----BEGIN CERTIFICATE-----). Give the certificate file first, then the key file.');
  }
  const blocks = certPem.match(CERT_BLOCK)!;
  let chain: crypto.X509Certificate[];
  try {
    chain = blocks.map((b) => new crypto.X509Certificate(b));
  } catch (err) {
    throw new CertificateError('cert_not_pem', `CERT_FILE holds a certificate that cannot be read (${(err as Error).message}). Check that the file is the PEM certificate your CA gave you.`);
  }
  let key: crypto.KeyObject;
  try {
    if (typeof keyPem !== 'string' || !keyPem.includes('PRIVATE KEY-----')) throw new Error('no PEM private key');
    key = crypto.createPrivateKey(keyPem);
  } catch {
    throw new CertificateError('key_not_pem', 'KEY_FILE is not an unencrypted PEM private key (it should begin with -----BEGIN PRIVATE KEY----- or -----BEGIN RSA/EC PRIVATE KEY-----). Decrypt it first, for example with `openssl pkey -in key.pem -out plain.pem`.');
  }
  const leaf = chain[0];
  const hostnames = hostnamesOf(leaf);
  const names = hostnames.join(', ') || 'no hostname';
  if (!leaf.checkPrivateKey(key)) {
    throw new CertificateError('key_mismatch', `The key does not match the certificate (${names}): KEY_FILE is the private key of another certificate. Give the key made with this certificate's request (and the certificate first in CERT_FILE, its chain after it).`);
  }
  const notBefore = new Date(leaf.validFrom);
  const notAfter = new Date(leaf.validTo);
  if (notAfter <= now) {
    throw new CertificateError('cert_expired', `The certificate (${names}) expired on ${notAfter.toISOString()}. Renew it with your CA, then add the new one.`);
  }
  if (notBefore > now) {
    throw new CertificateError('cert_not_yet_valid', `The certificate (${names}) is not valid until ${notBefore.toISOString()}. Check this server's clock, or add it once it is valid.`);
  }
  const issuer = field(leaf.issuer, 'O') ?? field(leaf.issuer, 'CN') ?? 'unknown issuer';
  // Re-serialized, so the files hold only the certificates (no bag attributes or comments).
  const cert = chain.map((c) => c.toString()).join('');
  return { cert, key: key.export({ type: 'pkcs8', format: 'pem' }).toString(), hostnames, notBefore, notAfter, issuer, fingerprint: leaf.fingerprint256 };
}

/** Whether a certificate for `names` serves `hostname`: exactly, or by a one-level wildcard. */
export function covers(names: readonly string[], hostname: string): boolean {
  const host = hostname.toLowerCase();
  const parent = host.slice(host.indexOf('.') + 1);
  return names.some((n) => n === host || (n.startsWith('*.') && host.includes('.') && n.slice(2) === parent));
}

/** Writes a file readable by the server's user only, whole or not at all (a crash leaves the old one). */
export function writePrivate(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/** A certificate's PEM files: `<certsDir>/<id>/{cert,key}.pem`. */
export function certFiles(certsDir: string, id: string): { dir: string; cert: string; key: string } {
  const dir = path.join(certsDir, id);
  return { dir, cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem') };
}

/** Saves a certificate and key (0600, in a 0700 dir only the server enters). */
export function saveCertFiles(certsDir: string, id: string, cert: string, key: string): void {
  fs.mkdirSync(certsDir, { recursive: true, mode: 0o700 });
  const files = certFiles(certsDir, id);
  writePrivate(files.key, key);
  writePrivate(files.cert, cert);
}

/** Reads a certificate's PEM files; undefined when either is gone. */
export function loadCertFiles(certsDir: string, id: string): { cert: string; key: string } | undefined {
  const files = certFiles(certsDir, id);
  try {
    return { cert: fs.readFileSync(files.cert, 'utf8'), key: fs.readFileSync(files.key, 'utf8') };
  } catch {
    return undefined;
  }
}
