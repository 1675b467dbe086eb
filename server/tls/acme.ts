import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import * as acme from 'acme-client';
import type { TlsChallenges } from '../../router/protocol.js';
import { writePrivate } from './pem.js';
import type { TlsSettings } from './settings.js';

/** Where the challenges in flight go: the route table, which every router answers from. */
export type PublishChallenges = (challenges: TlsChallenges) => void;

/** How a certificate was validated: HTTP-01 on port 80, else TLS-ALPN-01 on 443. */
export type ChallengeType = 'http-01' | 'tls-alpn-01';

/** Orders certificates from the ACME CA. */
export interface Issuer {
  /** Orders one certificate for `hostnames`; rejects with the CA's reason. */
  order(hostnames: string[]): Promise<{ cert: string; key: string; challenge: ChallengeType }>;
}

/** The CA's reason in an error from acme-client or from a failed authorization, on one line. */
export function acmeReason(err: unknown): string {
  const e = err as { message?: string; response?: { data?: { detail?: string } } };
  return (e.response?.data?.detail ?? e.message ?? String(err)).replace(/\s+/g, ' ').trim();
}

/**
 * The ACME client (acme-client) for one server: its account key in `<data>/acme/account.pem` (0600),
 * made on first use. Challenges are answered by the routers: HTTP-01 tokens and TLS-ALPN-01
 * certificates go into the route table while an order is in flight, and out again after. An order
 * tries HTTP-01 first; if the CA could not validate it (port 80 closed, or refused), the same order
 * is placed again with TLS-ALPN-01 (RFC 8737) on the TLS port.
 */
export class AcmeIssuer implements Issuer {
  private readonly inFlight: TlsChallenges = { http01: {}, tlsAlpn01: [] };
  private client: Promise<acme.Client> | undefined;

  constructor(
    private readonly settings: TlsSettings,
    private readonly acmeDir: string,
    private readonly publish: PublishChallenges,
  ) {
    // A private CA (or Pebble in tests) signs the directory's own HTTPS certificate.
    if (settings.acmeCa) acme.axios.defaults.httpsAgent = new https.Agent({ ca: fs.readFileSync(settings.acmeCa) });
  }

  async order(hostnames: string[]): Promise<{ cert: string; key: string; challenge: ChallengeType }> {
    const [key, csr] = await acme.crypto.createCsr({ altNames: hostnames }, await acme.crypto.createPrivateEcdsaKey('P-256'));
    try {
      return { cert: await this.placeOrder(csr, 'http-01'), key: key.toString(), challenge: 'http-01' };
    } catch (err) {
      const first = acmeReason(err);
      try {
        return { cert: await this.placeOrder(csr, 'tls-alpn-01'), key: key.toString(), challenge: 'tls-alpn-01' };
      } catch (second) {
        throw new Error(`HTTP-01: ${first}; TLS-ALPN-01: ${acmeReason(second)}`, { cause: second });
      }
    }
  }

  private async placeOrder(csr: Buffer, type: ChallengeType): Promise<string> {
    const client = await this.account();
    return client.auto({
      csr,
      email: this.settings.acmeEmail,
      termsOfServiceAgreed: true,
      challengePriority: [type],
      // Routers answer for the CA; nothing to check from here (this host may not reach itself by name).
      skipChallengeVerification: true,
      challengeCreateFn: async (authz, challenge, keyAuthorization) => {
        if (challenge.type === 'http-01') this.inFlight.http01[challenge.token] = keyAuthorization;
        else {
          const [alpnKey, alpnCert] = await acme.crypto.createAlpnCertificate(authz, keyAuthorization);
          this.inFlight.tlsAlpn01.push({ hostname: authz.identifier.value, cert: alpnCert.toString(), key: alpnKey.toString() });
        }
        this.publish(this.inFlight);
        // The route stream is asynchronous: give routers a moment to hold the challenge before the CA asks.
        await new Promise((r) => setTimeout(r, 200));
      },
      challengeRemoveFn: async (authz, challenge) => {
        if (challenge.type === 'http-01') delete this.inFlight.http01[challenge.token];
        else this.inFlight.tlsAlpn01 = this.inFlight.tlsAlpn01.filter((c) => c.hostname !== authz.identifier.value);
        this.publish(this.inFlight);
      },
    });
  }

  /** The client with its account: the key from the data dir (made on first use), registered once per process. */
  private account(): Promise<acme.Client> {
    this.client ??= (async () => {
      const file = path.join(this.acmeDir, 'account.pem');
      let accountKey: string | undefined;
      try {
        accountKey = fs.readFileSync(file, 'utf8');
      } catch {
        // first use: a new key, registered below
      }
      const known = accountKey !== undefined;
      accountKey ??= (await acme.crypto.createPrivateEcdsaKey('P-256')).toString();
      const client = new acme.Client({ directoryUrl: this.settings.acmeDirectory, accountKey });
      const email = this.settings.acmeEmail;
      const register = () => client.createAccount({ termsOfServiceAgreed: true, ...(email ? { contact: [`mailto:${email}`] } : {}) });
      if (!known) {
        await register();
        writePrivate(file, accountKey);
      } else {
        // A key the CA knows: look the account up (a POST-as-GET), rather than "update" it with nothing
        // new, which CAs refuse; a CA that forgot it (a test CA restarted) gets it registered again.
        await client.createAccount({ onlyReturnExisting: true }).catch(register);
      }
      return client;
    })().catch((err: unknown) => {
      this.client = undefined; // the next order tries again
      throw err;
    });
    return this.client;
  }
}
