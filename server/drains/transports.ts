import { randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { LogEvent } from '../logs/pipeline.js';
import { frameAll } from './syslog.js';

/** No request or connection may hang a sender: a receiver that stops answering counts as failed. */
const TIMEOUT_MS = 10_000;

/** Where a drain's batches go; `send` rejects when a batch did not get there (the sender retries it). */
export interface Transport {
  send(events: readonly LogEvent[]): Promise<void>;
  /** Drops connections, failing a send under way. */
  close(): void;
}

/** One persistent TCP connection, opened on the first send and again after a failure. */
export class SyslogTransport implements Transport {
  private socket: net.Socket | undefined;
  private connecting: Promise<net.Socket> | undefined;

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {}

  async send(events: readonly LogEvent[]): Promise<void> {
    const socket = await this.connect();
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      socket.once('error', onError);
      socket.write(frameAll(events), (err) => {
        socket.off('error', onError);
        if (err) reject(err);
        else resolve();
      });
    }).catch((err: unknown) => {
      this.close();
      throw err;
    });
  }

  close(): void {
    // With an error, so a connect under way fails now rather than at its timeout (shutdown waits on it).
    this.socket?.destroy(new Error('drain closed'));
    this.socket = undefined;
    this.connecting = undefined;
  }

  private connect(): Promise<net.Socket> {
    if (this.socket && !this.socket.destroyed && !this.connecting) return Promise.resolve(this.socket);
    if (this.connecting) return this.connecting;
    const connecting = new Promise<net.Socket>((resolve, reject) => {
      // [::1] comes out of URL.hostname bracketed; net wants the bare address.
      const socket = net.connect({ host: this.host.replace(/^\[(.*)\]$/, '$1'), port: this.port });
      this.socket = socket;
      socket.setTimeout(TIMEOUT_MS, () => socket.destroy(new Error(`no answer from ${this.host}:${this.port} within ${TIMEOUT_MS / 1000} s`)));
      socket.setKeepAlive(true, 30_000);
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        // A receiver never writes back; idle is no failure once connected.
        socket.setTimeout(0);
        // Errors between sends are seen by the next write; this keeps them from being unhandled.
        socket.on('error', () => undefined);
        socket.on('close', () => {
          if (this.socket === socket) this.socket = undefined;
        });
        // Every write is a whole batch already: Nagle's algorithm would only hold it back.
        socket.setNoDelay(true);
        resolve(socket);
      });
    }).finally(() => {
      if (this.connecting === connecting) this.connecting = undefined;
    });
    this.connecting = connecting;
    return connecting;
  }
}

/** Batched POSTs in Heroku's `application/logplex-1` framing, over one keep-alive agent per drain. */
export class HttpTransport implements Transport {
  private readonly target: URL;
  private readonly agent: http.Agent;
  private readonly auth: string | undefined;
  /** A batch keeps its frame id on retries (the sender retries the same array), so receivers can drop repeats. */
  private readonly frameIds = new WeakMap<readonly LogEvent[], string>();

  constructor(
    url: string,
    private readonly token: string,
  ) {
    this.target = new URL(url);
    this.auth = this.target.username || this.target.password ? `${decodeURIComponent(this.target.username)}:${decodeURIComponent(this.target.password)}` : undefined;
    this.agent = this.target.protocol === 'https:' ? new https.Agent({ keepAlive: true, maxSockets: 1 }) : new http.Agent({ keepAlive: true, maxSockets: 1 });
  }

  send(events: readonly LogEvent[]): Promise<void> {
    const body = Buffer.from(frameAll(events));
    const request = this.target.protocol === 'https:' ? https.request : http.request;
    let frameId = this.frameIds.get(events);
    if (!frameId) this.frameIds.set(events, (frameId = randomUUID()));
    return new Promise<void>((resolve, reject) => {
      const req = request(
        {
          protocol: this.target.protocol,
          hostname: this.target.hostname.replace(/^\[(.*)\]$/, '$1'),
          port: this.target.port || undefined,
          path: `${this.target.pathname}${this.target.search}`,
          method: 'POST',
          agent: this.agent,
          auth: this.auth,
          timeout: TIMEOUT_MS,
          headers: {
            'content-type': 'application/logplex-1',
            'content-length': body.length,
            'logplex-msg-count': events.length,
            'logplex-frame-id': frameId,
            'logplex-drain-token': this.token,
            'user-agent': 'paas-logplex/1',
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) resolve();
            else reject(new Error(`${this.describe()} answered ${status}`));
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer from ${this.describe()} within ${TIMEOUT_MS / 1000} s`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }

  /** The URL without its password, for the server's log. */
  private describe(): string {
    return `${this.target.protocol}//${this.target.host}${this.target.pathname}`;
  }
}
