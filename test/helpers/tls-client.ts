// A TLS client's view of the router's HTTPS port: raw handshakes (which certificate, which ALPN,
// which alert) and HTTPS requests with SNI, over loopback.
import crypto from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { collect, type HttpResult } from './paas.js';

export interface Handshake {
  /** SHA-256 fingerprint of the certificate the router presented. */
  fingerprint: string;
  alpn: string | false;
  /** Whether the router closed the connection right after the handshake (TLS-ALPN-01). */
  closed: Promise<boolean>;
}

/** The fingerprint tls gives a peer certificate, of a PEM. */
export const fingerprintOf = (pem: string): string => new crypto.X509Certificate(pem).fingerprint256;

/** Handshakes with `port` as `servername`; rejects with the TLS error (its `code`) if refused. */
export function handshake(port: number, servername: string, opts: tls.ConnectionOptions = {}): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false, ...opts }, () => {
      const closed = new Promise<boolean>((r) => {
        const t = setTimeout(() => r(false), 1000);
        socket.once('close', () => (clearTimeout(t), r(true)));
      });
      resolve({ fingerprint: socket.getPeerCertificate().fingerprint256, alpn: socket.alpnProtocol ?? false, closed: closed.finally(() => socket.destroy()) });
      socket.resume();
    });
    socket.once('error', reject);
    socket.setTimeout(5000, () => socket.destroy(new Error('handshake timed out')));
  });
}

/** A request to `port` with Host `host`: HTTPS with SNI `host` and the certificate checked against `ca` when `ca` is given, plain HTTP without. */
export function request(port: number, host: string, path = '/', ca?: string): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const opts = { host: '127.0.0.1', port, path, headers: { host }, agent: false as const };
    collect(ca === undefined ? http.request(opts) : https.request({ ...opts, servername: host.split(':')[0], ca }), resolve, reject);
  });
}
