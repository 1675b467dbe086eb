// The address range app networks are cut from: one /30 per app or add-on server (network, host end,
// namespace end, broadcast), numbered by slot from the start of the range.

/** PAAS_APP_NETWORK_CIDR, parsed: an IPv4 range of at least one /30. */
export interface NetworkRange {
  /** The range as given, normalised (`10.213.0.0/16`). */
  cidr: string;
  /** Its first address, as a number. */
  base: number;
  /** How many /30s it holds. */
  slots: number;
}

/** The default range: private (RFC 1918), rarely used, room for 16,384 apps and add-ons. */
export const DEFAULT_APP_NETWORK_CIDR = '10.213.0.0/16';

function toNumber(dotted: string): number | undefined {
  const parts = dotted.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

export function toDotted(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

const PRIVATE: [string, number][] = [['10.0.0.0', 8], ['172.16.0.0', 12], ['192.168.0.0', 16], ['100.64.0.0', 10]];

/** Whether a range lies inside the private ranges (RFC 1918 and the shared range of RFC 6598). */
function isPrivate(base: number, prefix: number): boolean {
  return PRIVATE.some(([net, bits]) => bits <= prefix && Math.floor(base / 2 ** (32 - bits)) === Math.floor(toNumber(net)! / 2 ** (32 - bits)));
}

/** Parses an IPv4 CIDR for app networks; a message saying what is wrong when it is not one. */
export function parseRange(raw: string): NetworkRange | string {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(raw.trim());
  const addr = m ? toNumber(m[1]) : undefined;
  const prefix = m ? Number(m[2]) : NaN;
  if (addr === undefined || !(prefix >= 8 && prefix <= 30)) return 'is not an IPv4 range from /8 to /30 (for example 10.213.0.0/16)';
  const size = 2 ** (32 - prefix);
  const base = addr - (addr % size);
  if (!isPrivate(base, prefix)) return 'is not a private range: use one inside 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or 100.64.0.0/10 that this host does not route elsewhere';
  return { cidr: `${toDotted(base)}/${prefix}`, base, slots: size / 4 };
}

/**
 * A slot's /30: the host's end (the namespace's gateway), the namespace's own address, and the name
 * of the host end's veth, which spells the /30 (`paas0ad50004` for 10.213.0.4/30), so servers whose
 * ranges overlap claim a /30 by making that veth: only one can.
 */
export function slotAddresses(range: NetworkRange, slot: number): { host: string; inside: string; ifname: string } {
  const net = range.base + slot * 4;
  return { host: toDotted(net + 1), inside: toDotted(net + 2), ifname: `paas${net.toString(16).padStart(8, '0')}` };
}
