import { type IncomingMessage, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { NotFoundError, type PaasError } from '../../lib/errors.js';

export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** The raw answer to an upgrade that is refused: an HTTP response in the API's `{ id, message }` form. */
export function refuseUpgrade(socket: Duplex, err: PaasError): void {
  const body = JSON.stringify({ id: err.id, message: err.message });
  socket.end(`HTTP/1.1 ${err.status} ${STATUS_CODES[err.status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}

/**
 * The API server's one `upgrade` listener: a socket is answered exactly once, so each websocket
 * endpoint (the route stream, log tails) is picked here by path, and any other path gets a 404.
 */
export function upgradeDispatcher(routes: readonly { path: RegExp; handle: UpgradeHandler }[]): UpgradeHandler {
  return (req, socket, head) => {
    const path = (req.url ?? '').split('?')[0];
    const route = routes.find((r) => r.path.test(path));
    if (route) return route.handle(req, socket, head);
    socket.on('error', () => socket.destroy());
    refuseUpgrade(socket, new NotFoundError(`No route for ${req.method} ${path}. See docs/api.md for the API.`));
  };
}

type Peer = { ws: WebSocket; alive: boolean; allowed?: () => boolean };

/** Closes the peer with 1008 if its caller is no longer let in (its dashboard session ended); true if it did. */
function closedAsEnded(peer: Peer): boolean {
  if (!peer.allowed || peer.allowed()) return false;
  peer.ws.close(1008, 'dashboard session ended');
  return true;
}

/** Closes with 1008 every peer whose dashboard session ended: what sign-out does at once. */
export function closeEnded(peers: Iterable<Peer>): void {
  for (const peer of peers) closedAsEnded(peer);
}

/**
 * One heartbeat round over a websocket endpoint's peers: a peer that did not answer the last ping
 * (gone without a FIN: host down, laptop closed) is terminated, one no longer `allowed` (its
 * dashboard session expired) is closed with 1008, the others are pinged again.
 */
export function heartbeat(peers: Iterable<Peer>): void {
  for (const peer of peers) {
    if (closedAsEnded(peer)) continue;
    if (!peer.alive) {
      peer.ws.terminate();
      continue;
    }
    peer.alive = false;
    peer.ws.ping();
  }
}

/**
 * Closes each socket with 1001 (going away) and `reason`, resolving once all are closed; a peer that
 * never answers the close (paused, gone) is terminated after a second, so it cannot hold a shutdown.
 */
export async function goAway(sockets: Iterable<WebSocket>, reason: string): Promise<void> {
  await Promise.all(
    [...sockets].map(
      (ws) =>
        new Promise<void>((resolve) => {
          ws.once('close', () => resolve());
          ws.close(1001, reason);
          setTimeout(() => ws.terminate(), 1000).unref();
        }),
    ),
  );
}
