import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../../lib/errors.js';
import { parseDuration } from '../disk/settings.js';

/** Let's Encrypt's directories, by the names PAAS_ACME_DIRECTORY accepts. */
export const ACME_DIRECTORIES: Record<string, string> = {
  letsencrypt: 'https://acme-v02.api.letsencrypt.org/directory',
  'letsencrypt-staging': 'https://acme-staging-v02.api.letsencrypt.org/directory',
};

/** The server's HTTPS settings (PAAS_ACME_*, PAAS_TLS_*), read once at start-up. */
export interface TlsSettings {
  /** The ACME directory URL (PAAS_ACME_DIRECTORY: a URL, `letsencrypt` (default) or `letsencrypt-staging`). */
  acmeDirectory: string;
  /** The account's contact (PAAS_ACME_EMAIL); the CA writes about expiring certificates to it. */
  acmeEmail: string | undefined;
  /** PAAS_ACME_DEFAULT=auto: every app gets automatic certificates unless it turns them off. */
  acmeDefault: boolean;
  /** Renewal is due this long before expiry (PAAS_ACME_RENEW_BEFORE, default 30d). */
  renewBeforeMs: number;
  /** How often due renewals and orders are looked for (PAAS_ACME_CHECK_INTERVAL, default 1h). */
  checkIntervalMs: number;
  /** The first retry of a failed order comes after this long, doubling up to a day (PAAS_ACME_RETRY, default 5m). */
  retryMs: number;
  /** A CA bundle to trust for the ACME directory's own HTTPS (PAAS_ACME_CA_FILE): a private CA, or Pebble in tests. */
  acmeCa: string | undefined;
  /** The operator's default certificate (PAAS_TLS_CERT_FILE, PAAS_TLS_KEY_FILE), for example a wildcard for `*.<PAAS_DOMAIN>`. */
  defaultCert: { certFile: string; keyFile: string } | undefined;
}

function duration(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const value = env[name]?.trim();
  if (!value) return fallback;
  const ms = parseDuration(value);
  if (ms === undefined) throw new ConfigError(`${name}=${JSON.stringify(value)} is not a duration. Use a number and a unit, for example 30d, 12h, 15m or 30s.`);
  return ms;
}

function readable(name: string, file: string): string {
  const full = path.resolve(file);
  try {
    fs.accessSync(full, fs.constants.R_OK);
  } catch {
    throw new ConfigError(`${name}=${JSON.stringify(file)} cannot be read. Point it at a PEM file this user can read.`);
  }
  return full;
}

/** Reads the HTTPS settings; throws ConfigError naming a bad one and what it should be. */
export function parseTlsSettings(env: NodeJS.ProcessEnv): TlsSettings {
  const dir = env.PAAS_ACME_DIRECTORY?.trim() || 'letsencrypt';
  const acmeDirectory = ACME_DIRECTORIES[dir] ?? dir;
  if (!/^https?:\/\/\S+$/.test(acmeDirectory)) {
    throw new ConfigError(`PAAS_ACME_DIRECTORY=${JSON.stringify(dir)} is not an ACME directory. Use a URL, or "letsencrypt" (the default) or "letsencrypt-staging".`);
  }
  const mode = env.PAAS_ACME_DEFAULT?.trim() || 'off';
  if (mode !== 'auto' && mode !== 'off') {
    throw new ConfigError(`PAAS_ACME_DEFAULT=${JSON.stringify(mode)} is not a setting. Use "auto" (every app's custom domains get certificates) or "off" (each app turns them on with paas certs:auto:enable).`);
  }
  const email = env.PAAS_ACME_EMAIL?.trim() || undefined;
  if (email && !/^[^\s@]+@[^\s@]+$/.test(email)) throw new ConfigError(`PAAS_ACME_EMAIL=${JSON.stringify(email)} is not an email address.`);
  const certFile = env.PAAS_TLS_CERT_FILE?.trim();
  const keyFile = env.PAAS_TLS_KEY_FILE?.trim();
  if (Boolean(certFile) !== Boolean(keyFile)) {
    throw new ConfigError('PAAS_TLS_CERT_FILE and PAAS_TLS_KEY_FILE go together: set both (the default certificate and its key), or neither.');
  }
  return {
    acmeDirectory,
    acmeEmail: email,
    acmeDefault: mode === 'auto',
    renewBeforeMs: duration(env, 'PAAS_ACME_RENEW_BEFORE', 30 * 86_400_000),
    checkIntervalMs: duration(env, 'PAAS_ACME_CHECK_INTERVAL', 3_600_000),
    retryMs: duration(env, 'PAAS_ACME_RETRY', 5 * 60_000),
    acmeCa: env.PAAS_ACME_CA_FILE?.trim() ? readable('PAAS_ACME_CA_FILE', env.PAAS_ACME_CA_FILE.trim()) : undefined,
    defaultCert: certFile && keyFile ? { certFile: readable('PAAS_TLS_CERT_FILE', certFile), keyFile: readable('PAAS_TLS_KEY_FILE', keyFile) } : undefined,
  };
}
