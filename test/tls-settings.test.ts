// The server's HTTPS settings (PAAS_ACME_*, PAAS_TLS_*): defaults, names, and what a bad value says.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../lib/errors.js';
import { ACME_DIRECTORIES, parseTlsSettings } from '../server/tls/settings.js';
import { covers } from '../server/tls/pem.js';
import { selfSignedCert } from './helpers/tls.js';

describe('parseTlsSettings', () => {
  it("defaults to Let's Encrypt production, auto off, renewal 30 days before expiry", () => {
    expect(parseTlsSettings({})).toEqual({
      acmeDirectory: ACME_DIRECTORIES.letsencrypt,
      acmeEmail: undefined,
      acmeDefault: false,
      renewBeforeMs: 30 * 86_400_000,
      checkIntervalMs: 3_600_000,
      retryMs: 300_000,
      acmeCa: undefined,
      defaultCert: undefined,
    });
  });

  it('takes letsencrypt-staging by name, a URL, auto, an email and durations', () => {
    const made = selfSignedCert(['*.apps.test']);
    const s = parseTlsSettings({ PAAS_ACME_DIRECTORY: 'letsencrypt-staging', PAAS_ACME_DEFAULT: 'auto', PAAS_ACME_EMAIL: 'ops@example.com', PAAS_ACME_RENEW_BEFORE: '20d', PAAS_TLS_CERT_FILE: made.certFile, PAAS_TLS_KEY_FILE: made.keyFile });
    expect(s).toMatchObject({ acmeDirectory: 'https://acme-staging-v02.api.letsencrypt.org/directory', acmeDefault: true, acmeEmail: 'ops@example.com', renewBeforeMs: 20 * 86_400_000, defaultCert: { certFile: made.certFile, keyFile: made.keyFile } });
    expect(parseTlsSettings({ PAAS_ACME_DIRECTORY: 'https://ca.internal/dir' }).acmeDirectory).toBe('https://ca.internal/dir');
  });

  it('refuses bad values, saying what to set', () => {
    const bad = (env: Record<string, string>) => () => parseTlsSettings(env);
    expect(bad({ PAAS_ACME_DIRECTORY: 'lets-encrypt' })).toThrow(new ConfigError('PAAS_ACME_DIRECTORY="lets-encrypt" is not an ACME directory. Use a URL, or "letsencrypt" (the default) or "letsencrypt-staging".'));
    expect(bad({ PAAS_ACME_DEFAULT: 'on' })).toThrow(/PAAS_ACME_DEFAULT="on" is not a setting. Use "auto"/);
    expect(bad({ PAAS_ACME_RENEW_BEFORE: '30' })).toThrow(/PAAS_ACME_RENEW_BEFORE="30" is not a duration/);
    expect(bad({ PAAS_ACME_EMAIL: 'ops' })).toThrow(/not an email address/);
    expect(bad({ PAAS_TLS_CERT_FILE: '/etc/hostname' })).toThrow(/PAAS_TLS_CERT_FILE and PAAS_TLS_KEY_FILE go together/);
    expect(bad({ PAAS_TLS_CERT_FILE: '/nonexistent.pem', PAAS_TLS_KEY_FILE: '/nonexistent.key' })).toThrow(/PAAS_TLS_CERT_FILE="\/nonexistent.pem" cannot be read/);
  });
});

describe('covers', () => {
  it('matches exact names and one wildcard level only', () => {
    expect(covers(['www.example.com'], 'WWW.example.com')).toBe(true);
    expect(covers(['*.example.com'], 'a.example.com')).toBe(true);
    expect(covers(['*.example.com'], 'a.b.example.com')).toBe(false);
    expect(covers(['*.example.com'], 'example.com')).toBe(false);
    expect(covers(['*.example.com'], '*.example.com')).toBe(true);
    expect(covers(['example.com'], 'www.example.com')).toBe(false);
  });
});
