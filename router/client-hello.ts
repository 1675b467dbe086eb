/** What the router needs of a TLS ClientHello before it picks how to answer it. */
export interface ClientHello {
  /** The SNI host name, if the client sent one. */
  servername: string | undefined;
  /** The ALPN protocols the client offers. */
  alpn: string[];
  /** The hello went on past its first record: what follows it was not read (no SNI seen means none known). */
  partial: boolean;
}

/** The largest TLS record a client may send (RFC 8446 5.1), with room for a padded one. */
const MAX_RECORD = 16384 + 256;
const HANDSHAKE = 0x16;
const CLIENT_HELLO = 1;
const EXT_SERVER_NAME = 0;
const EXT_ALPN = 16;

/**
 * Reads the ClientHello at the start of a TLS connection (RFC 8446 4.1.2), as far as its first
 * record goes: 'more' until that record is all there, 'invalid' if the bytes are no ClientHello.
 * Only SNI and ALPN are read; everything else is left to the TLS stack, which gets the same bytes.
 */
export function parseClientHello(buf: Buffer): ClientHello | 'more' | 'invalid' {
  if (buf.length < 5) return buf.length > 0 && buf[0] !== HANDSHAKE ? 'invalid' : 'more';
  const recordLength = buf.readUInt16BE(3);
  if (buf[0] !== HANDSHAKE || recordLength > MAX_RECORD || recordLength < 4) return 'invalid';
  if (buf.length < 5 + recordLength) return 'more';
  if (buf[5] !== CLIENT_HELLO) return 'invalid';
  const helloEnd = 9 + buf.readUIntBE(6, 3);
  const end = Math.min(5 + recordLength, helloEnd);
  const out: ClientHello = { servername: undefined, alpn: [], partial: helloEnd > end };
  try {
    // version (2), random (32), then session id, cipher suites and compression methods, each with its length.
    let p = 9 + 2 + 32;
    p += 1 + buf.readUInt8(p);
    p += 2 + buf.readUInt16BE(p);
    p += 1 + buf.readUInt8(p);
    if (p + 2 > end) return out;
    const extensionsEnd = Math.min(end, p + 2 + buf.readUInt16BE(p));
    p += 2;
    while (p + 4 <= extensionsEnd) {
      const type = buf.readUInt16BE(p);
      const length = buf.readUInt16BE(p + 2);
      const data = p + 4;
      p = data + length;
      if (p > extensionsEnd) break;
      if (type === EXT_SERVER_NAME) out.servername = serverName(buf, data, p);
      else if (type === EXT_ALPN) out.alpn = protocols(buf, data, p);
    }
  } catch {
    // A length pointing past the buffer: a hello cut short, or garbage; what was read stands.
  }
  return out;
}

/** The host_name entry of a server_name extension (RFC 6066 3). */
function serverName(buf: Buffer, from: number, to: number): string | undefined {
  let p = from + 2;
  while (p + 3 <= to) {
    const type = buf[p];
    const length = buf.readUInt16BE(p + 1);
    p += 3;
    if (p + length > to) return undefined;
    if (type === 0) return buf.toString('latin1', p, p + length);
    p += length;
  }
  return undefined;
}

/** The protocol names of an ALPN extension (RFC 7301 3.1). */
function protocols(buf: Buffer, from: number, to: number): string[] {
  const out: string[] = [];
  let p = from + 2;
  while (p < to) {
    const length = buf[p];
    if (p + 1 + length > to) break;
    out.push(buf.toString('latin1', p + 1, p + 1 + length));
    p += 1 + length;
  }
  return out;
}
