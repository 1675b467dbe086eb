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

/**
 * One heartbeat round over a websocket endpoint's peers: a peer that did not answer the last ping
 * (gone without a FIN: host down, laptop closed) is terminated, one no longer `allowed` (its
 * dashboard session ended) is closed with 1008, the others are pinged again.
 */
export function heartbeat(peers: Iterable<{ ws: WebSocket; alive: boolean; allowed?: () => boolean }>): void {
  for (const peer of peers) {
    if (peer.allowed && !peer.allowed()) {
      peer.ws.close(1008, 'dashboard session ended');
      continue;
    }
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
