import net from 'node:net';
import tls from 'node:tls';
import { parseClientHello } from './client-hello.js';
import { MIN_TLS_VERSION, type TlsStore } from './tls-store.js';

/** The ALPN protocol of TLS-ALPN-01 (RFC 8737 6.2). */
export const ACME_TLS_ALPN = 'acme-tls/1';

/** A fatal unrecognized_name alert (RFC 6066 3): no certificate for the name the client asked for. */
const UNRECOGNIZED_NAME = Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x70]);

export interface TlsFront {
  /** The listener: every connection's ClientHello is read here, then handed to the TLS stack. */
  server: net.Server;
  /** Destroys the connections still in their handshake. */
  close(): void;
}

/**
 * The router's HTTPS listener. It reads each ClientHello itself before Node's TLS stack sees it,
 * which Node's SNICallback alone cannot do: an ACME validation (ALPN `acme-tls/1`, RFC 8737) must
 * get the challenge certificate, chosen by SNI *and* ALPN, and a name with no certificate gets the
 * unrecognized_name alert rather than a generic handshake failure. Then the bytes go back on the
 * socket and one of two TLS servers takes it: the challenge one, which closes after the handshake,
 * or the main one (certificate by SNI, TLS 1.2+, Node's default cipher list, which offers only
 * forward-secret AEAD suites first; ALPN http/1.1), whose sockets go to `onSecure`.
 */
export function createTlsFront(store: TlsStore, onSecure: (socket: tls.TLSSocket) => void, handshakeMs: number): TlsFront {
  const common = { minVersion: MIN_TLS_VERSION, allowHalfOpen: true, handshakeTimeout: handshakeMs } as const;
  const main = tls.createServer({ ...common, ALPNProtocols: ['http/1.1'], SNICallback: (name, cb) => cb(null, store.context(name)) }, onSecure);
  const acme = tls.createServer({ ...common, ALPNProtocols: [ACME_TLS_ALPN], SNICallback: (name, cb) => cb(null, store.alpnContext(name)) }, (socket) => socket.end());
  // A failed handshake (no common version, a bad record, a client that gave up) ends its socket, as Node does by default.
  for (const s of [main, acme]) s.on('tlsClientError', (_err, socket) => socket.destroy());

  const handshaking = new Set<net.Socket>();
  const server = net.createServer({ noDelay: true, allowHalfOpen: true }, (socket) => {
    handshaking.add(socket);
    let buf: Buffer | undefined;
    const timer = setTimeout(() => socket.destroy(), handshakeMs);
    const done = () => {
      clearTimeout(timer);
      handshaking.delete(socket);
      socket.off('data', onData);
    };
    const onData = (chunk: Buffer) => {
      buf = buf ? Buffer.concat([buf, chunk]) : chunk;
      const hello = parseClientHello(buf);
      if (hello === 'more') return;
      done();
      socket.pause();
      if (hello === 'invalid') return void socket.destroy();
      const name = hello.servername;
      let to = main;
      if (name !== undefined && hello.alpn.includes(ACME_TLS_ALPN) && store.alpnContext(name)) to = acme;
      else if (name !== undefined && !store.context(name)) return void socket.end(UNRECOGNIZED_NAME);
      socket.unshift(buf);
      to.emit('connection', socket);
    };
    socket.on('data', onData);
    socket.on('error', () => socket.destroy());
    socket.once('close', done);
  });
  server.on('error', () => undefined);
  return {
    server,
    close() {
      for (const socket of handshaking) socket.destroy();
    },
  };
}
