import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { PaasError } from '../../lib/errors.js';
import type { AppEvents } from '../control/app-events.js';
import { type Authority, authorizeUpgrade } from './auth.js';
import { goAway, heartbeat, refuseUpgrade } from './upgrades.js';

/** `GET /v1/events`: the path the API's upgrade dispatcher sends here. */
export const EVENTS_PATH = /^\/v1\/events$/;

export interface EventStreamDeps {
  events: Pick<AppEvents, 'listen'>;
  /** Who may listen: the token holder, or a dashboard session from the API's own origin. */
  authority: Authority;
  /** Bytes a listener may hold unsent; past that it is cut off (it reconnects and refetches). */
  maxBufferedBytes?: number;
  pingMs?: number;
}

interface Peer {
  ws: WebSocket;
  alive: boolean;
  allowed: () => boolean;
}

/**
 * The app event stream the dashboard keeps open: every AppEvent (created, changed, destroyed) as
 * one JSON text message to every listener. Listeners only receive; what they send is ignored.
 */
export class EventStream {
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 1024 });
  private readonly peers = new Set<Peer>();
  private readonly pinger: NodeJS.Timeout;
  private readonly stopListening: () => void;
  private closed = false;

  constructor(private readonly deps: EventStreamDeps) {
    this.pinger = setInterval(() => heartbeat(this.peers), deps.pingMs ?? 30_000).unref();
    this.stopListening = deps.events.listen((event) => {
      const text = JSON.stringify(event);
      for (const peer of this.peers) this.send(peer, text);
    });
  }

  get size(): number {
    return this.peers.size;
  }

  /** The dispatcher's handler for EVENTS_PATH: the stream, or an HTTP error and no upgrade. */
  readonly handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    let allowed: () => boolean;
    try {
      if (req.method !== 'GET') throw new PaasError('method_not_allowed', 405, 'Open /v1/events with a GET websocket upgrade.');
      allowed = authorizeUpgrade(req.headers, this.deps.authority);
      if (this.closed) throw new PaasError('unavailable', 503, 'The paas server is shutting down. Reconnect once it is back.');
    } catch (err) {
      if (err instanceof PaasError) return refuseUpgrade(socket, err);
      throw err;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const peer: Peer = { ws, alive: true, allowed };
      this.peers.add(peer);
      ws.on('pong', () => (peer.alive = true));
      ws.on('error', () => ws.terminate());
      ws.on('close', () => this.peers.delete(peer));
    });
  };

  /** Ends every listener with 1001 (going away): the dashboard reconnects once the server is back. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.pinger);
    this.stopListening();
    await goAway([...this.peers].map((p) => p.ws), 'paas server shutting down');
  }

  private send(peer: Peer, text: string): void {
    if (peer.ws.readyState !== peer.ws.OPEN) return;
    // A listener that does not read is let go rather than kept in memory: its reconnect refetches.
    if (peer.ws.bufferedAmount > (this.deps.maxBufferedBytes ?? 1024 * 1024)) return void peer.ws.terminate();
    peer.ws.send(text);
  }
}
