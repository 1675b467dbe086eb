import tls from 'node:tls';
import type { ServerMessage, TlsCertificate, TlsChallenges } from './protocol.js';

/** Where ACME HTTP-01 challenges are answered, on the plain HTTP port (RFC 8555 8.3). */
export const ACME_CHALLENGE_PATH = '/.well-known/acme-challenge/';

/** TLS 1.0 and 1.1 are deprecated (RFC 8996): a router refuses them. */
export const MIN_TLS_VERSION = 'TLSv1.2';

interface Loaded {
  cert: string;
  key: string;
  context: tls.SecureContext;
}

/** A hostname as SNI or Host gives it: lower case, without a trailing dot. */
function plain(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/**
 * A router's certificates and ACME challenges, as the route stream's `certs` and `challenges`
 * messages give them (each the whole set, replacing the last). Certificates become secure contexts
 * once, when they arrive, and again only when their PEM changes: a handshake looks one up, no more.
 */
export class TlsStore {
  private loaded = new Map<string, Loaded>();
  private exact = new Map<string, tls.SecureContext>();
  /** By the part after the star: `*.example.com` is `.example.com`. */
  private wildcard = new Map<string, tls.SecureContext>();
  private http01 = new Map<string, string>();
  private alpn = new Map<string, tls.SecureContext>();

  /** `warn` hears of a certificate that cannot be used (bad PEM, a key that does not match). */
  constructor(private readonly warn: (line: string) => void = (line) => console.error(`paas router: ${line}`)) {}

  /** Applies a `certs` or `challenges` message; others are not the store's business. */
  apply(msg: ServerMessage): void {
    if (msg.type === 'certs') this.setCerts(msg.certs);
    else if (msg.type === 'challenges') this.setChallenges(msg);
  }

  /** The context for a handshake's SNI name: the exact hostname's, else its one-level wildcard's. */
  context(servername: string): tls.SecureContext | undefined {
    const name = plain(servername);
    const exact = this.exact.get(name);
    if (exact) return exact;
    const dot = name.indexOf('.');
    return dot > 0 ? this.wildcard.get(name.slice(dot)) : undefined;
  }

  /** Whether a hostname has a certificate (so plain HTTP to it may be redirected to HTTPS). */
  covers(host: string): boolean {
    return this.context(host) !== undefined;
  }

  /** Whether any HTTP-01 challenge is in flight (the request path checks this first, cheaply). */
  get hasHttp01(): boolean {
    return this.http01.size > 0;
  }

  /** The key authorization for an HTTP-01 token, if it is one in flight. */
  keyAuthorization(token: string): string | undefined {
    return this.http01.get(token);
  }

  /** Whether any TLS-ALPN-01 challenge is in flight. */
  get hasAlpn(): boolean {
    return this.alpn.size > 0;
  }

  /** The TLS-ALPN-01 challenge certificate for `servername`, if one is in flight. */
  alpnContext(servername: string): tls.SecureContext | undefined {
    return this.alpn.get(plain(servername));
  }

  private setCerts(certs: TlsCertificate[]): void {
    const loaded = new Map<string, Loaded>();
    const exact = new Map<string, tls.SecureContext>();
    const wildcard = new Map<string, tls.SecureContext>();
    // The operator's default goes first, so an app's own certificate for the same name wins.
    const ordered = [...certs].sort((a, b) => Number(b.id === 'default') - Number(a.id === 'default'));
    for (const c of ordered) {
      const before = this.loaded.get(c.id);
      const context = before && before.cert === c.cert && before.key === c.key ? before.context : this.load(c.id, c.hostnames, c.cert, c.key);
      if (!context) continue;
      loaded.set(c.id, { cert: c.cert, key: c.key, context });
      for (const raw of c.hostnames) {
        const name = plain(raw);
        if (name.startsWith('*.')) wildcard.set(name.slice(1), context);
        else exact.set(name, context);
      }
    }
    this.loaded = loaded;
    this.exact = exact;
    this.wildcard = wildcard;
  }

  private setChallenges(c: TlsChallenges): void {
    this.http01 = new Map(Object.entries(c.http01 ?? {}).filter(([, v]) => typeof v === 'string'));
    const alpn = new Map<string, tls.SecureContext>();
    for (const a of c.tlsAlpn01 ?? []) {
      const context = this.load(`TLS-ALPN-01 challenge`, [a.hostname], a.cert, a.key);
      if (context) alpn.set(plain(a.hostname), context);
    }
    this.alpn = alpn;
  }

  private load(id: string, hostnames: string[], cert: string, key: string): tls.SecureContext | undefined {
    try {
      return tls.createSecureContext({ cert, key, minVersion: MIN_TLS_VERSION });
    } catch (err) {
      this.warn(`certificate ${id} (${hostnames.join(', ')}) cannot be used: ${(err as Error).message}; its hostnames get no HTTPS until it is replaced (paas certs)`);
      return undefined;
    }
  }
}
