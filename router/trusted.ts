import net from 'node:net';

/** The peers whose X-Forwarded-For the router keeps (PAAS_TRUSTED_PROXIES): addresses and CIDR ranges. */
export interface TrustedProxies {
  has(address: string | undefined): boolean;
}

export class TrustedProxiesError extends Error {}

const family = (ip: string): 'ipv4' | 'ipv6' => (net.isIPv6(ip) ? 'ipv6' : 'ipv4');

/**
 * Parses a comma-separated list such as `10.0.0.0/8, 127.0.0.1, ::1`; empty trusts no peer.
 * Throws TrustedProxiesError naming the bad entry.
 */
export function parseTrustedProxies(raw: string | undefined): TrustedProxies {
  const list = new net.BlockList();
  let any = false;
  for (const entry of (raw ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const [ip, bits, extra] = entry.split('/');
    const prefix = bits === undefined ? undefined : Number(bits);
    const max = net.isIPv6(ip) ? 128 : 32;
    if (!net.isIP(ip) || extra !== undefined || (prefix !== undefined && (!/^\d+$/.test(bits) || prefix > max))) {
      throw new TrustedProxiesError(`PAAS_TRUSTED_PROXIES: ${JSON.stringify(entry)} is not an IP address or CIDR range. Use a comma-separated list such as 10.0.0.0/8,127.0.0.1.`);
    }
    if (prefix === undefined) list.addAddress(ip, family(ip));
    else list.addSubnet(ip, prefix, family(ip));
    any = true;
  }
  return {
    has(address) {
      if (!any || !address) return false;
      // An IPv4 peer on a dual-stack socket shows as ::ffff:a.b.c.d.
      const plain = address.startsWith('::ffff:') && net.isIPv4(address.slice(7)) ? address.slice(7) : address;
      return list.check(plain, family(plain));
    },
  };
}

/** What is wrong with a PAAS_TRUSTED_PROXIES value, for a config loader to report; undefined if nothing. */
export function trustedProxiesProblem(raw: string): string | undefined {
  try {
    parseTrustedProxies(raw);
    return undefined;
  } catch (err) {
    if (err instanceof TrustedProxiesError) return err.message;
    throw err;
  }
}
