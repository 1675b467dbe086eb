import WebSocket from 'ws';
import { LOG_FRAMES, logFrameLine, PROTOCOL_VERSION, readLogFrame, type RouterMessage, type ServerMessage, STREAM_PATH } from './protocol.js';
import type { RouteTable } from './route-table.js';

export interface StreamClientOptions {
  /** The control plane's API URL (http or https). */
  apiUrl: string;
  token: string;
  table: RouteTable;
  /** The router's drain (router/router.ts), run for each `drain` message. */
  drain(target: { host: string; port: number }, timeoutMs: number): Promise<number>;
  /** Where the client says what happens to the stream: once per change of state, never per retry. */
  say?: (line: string) => void;
  minDelayMs?: number;
  maxDelayMs?: number;
}

/** Log lines are sent every FLUSH_MS, or at once when BATCH have gathered. */
const FLUSH_MS = 100;
const BATCH = 500;
/** A batch's buffer: room for BATCH lines of the usual length (a longer line closes the batch early). */
const BATCH_BYTES = 128 * 1024;
/** While the stream is down or behind, at most KEEP lines wait; the rest are counted as dropped. */
const KEEP = 10_000;
/** Past this much unsent on the socket, lines wait in KEEP instead. */
const MAX_BUFFERED = 4 * 1024 * 1024;
/** The server pings every 15 s: silence for this long means it is gone (paused, its host down). */
const SILENCE_MS = 40_000;
/** A connection whose upgrade gets no answer in this long is given up and tried again. */
const HANDSHAKE_MS = 10_000;
/** Another protocol version will not change by itself soon: retry slowly. */
const VERSION_RETRY_MS = 30_000;

type State = 'starting' | 'connected' | 'lost' | 'refused' | 'version';

/**
 * A router's end of the route stream: applies the snapshot and changes to its RouteTable, answers
 * drains, sends the router's log in batches, and reconnects with capped, jittered exponential
 * backoff. The table stays as it was while the stream is away, so the router keeps serving it.
 */
export class StreamClient {
  private ws: WebSocket | undefined;
  private state: State = 'starting';
  private failures = 0;
  private retry: NodeJS.Timeout | undefined;
  private silence: NodeJS.Timeout | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  /**
   * Log lines not sent yet, as log frames (protocol.ts): whole batches, then the one being filled,
   * `used` bytes of `buf` holding `n` lines. Each line is written into the buffer as it comes, so
   * no string or object per line stays alive on the heap until its batch leaves (lines held across
   * a scavenge were most of what it copied: its pause stalls every request on this worker).
   */
  private batches: { data: Buffer; n: number }[] = [];
  private buf: Buffer | undefined;
  private used = 0;
  private n = 0;
  /** Lines in `batches` and `buf`. */
  private kept = 0;
  private dropped = 0;
  /** The control plane takes log frames (its snapshot says so). */
  private frames = false;
  private closed = false;
  private readonly url: string;

  constructor(private readonly opts: StreamClientOptions) {
    const url = new URL(opts.apiUrl.replace(/\/+$/, '') + STREAM_PATH);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    this.url = url.toString();
  }

  /** Connects, and keeps reconnecting until `close`. */
  start(): void {
    this.connect();
  }

  /** Queues one router log line for the app's log stream; returns at once (the request path calls it). */
  log(app: string, line: string, time: number): void {
    if (this.kept >= KEEP) {
      this.dropped++;
      return;
    }
    const text = logFrameLine(app, line, time);
    // UTF-8 takes at most 3 bytes per UTF-16 unit: a line that may not fit starts a new batch.
    if (!this.buf || this.used + 3 * text.length > this.buf.length) {
      this.closeBatch();
      this.buf = Buffer.allocUnsafe(Math.max(BATCH_BYTES, 3 * text.length));
    }
    this.used += this.buf.write(text, this.used);
    this.kept++;
    if (++this.n >= BATCH) this.flush();
    else this.flushTimer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  /** Sends what log lines can go now and stops; the table stays as it is. */
  close(): void {
    this.closed = true;
    this.flush();
    clearTimeout(this.retry);
    clearTimeout(this.silence);
    clearTimeout(this.flushTimer);
    this.ws?.close(1001, 'router stopping');
  }

  private connect(): void {
    const ws = new WebSocket(this.url, {
      headers: { authorization: `Bearer ${this.opts.token}` },
      perMessageDeflate: false,
      handshakeTimeout: HANDSHAKE_MS,
      maxPayload: 256 * 1024 * 1024,
    });
    this.ws = ws;
    // Why this connection ended, when it is more than the network's doing (a refusal, a version).
    let why = '';
    let error = '';
    ws.on('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      ws.terminate();
      // A server shutting down (503) or a proxy's 502 is the API away for a while, like a refused connection.
      if (status !== 401 && status !== 403 && status !== 404) return void (error = `the API answered ${status}`);
      why = 'refused';
      const hint = status === 404 ? ': is PAAS_API_URL a paas API of the same version?' : ': check PAAS_API_TOKEN';
      this.become('refused', `The API refused the route stream at ${this.url} (${status})${hint}; retrying`);
    });
    ws.on('open', () => {
      this.failures = 0;
      this.heard();
      this.flush();
    });
    ws.on('ping', () => this.heard());
    ws.on('message', (data, isBinary) => {
      this.heard();
      if (!isBinary && this.receive(ws, data.toString()) === 'version') why = 'version';
    });
    ws.on('error', (err) => (error ||= err.message));
    ws.on('close', (code, reason) => {
      clearTimeout(this.silence);
      if (this.ws !== ws || this.closed) return;
      this.ws = undefined;
      if (!why) {
        const detail = error || (code === 1001 ? 'the server is going away' : `closed, ${code}${reason.length ? ` ${reason.toString()}` : ''}`);
        this.become('lost', `${this.state === 'starting' ? 'Cannot reach' : 'Lost'} the route stream at ${this.url} (${detail}); serving the last table, retrying`);
      }
      this.schedule();
    });
  }

  /** The server is alive: restart the silence timer, which drops a connection that went quiet. */
  private heard(): void {
    clearTimeout(this.silence);
    const ws = this.ws;
    this.silence = setTimeout(() => ws?.terminate(), SILENCE_MS);
    this.silence.unref();
  }

  private schedule(): void {
    const min = this.opts.minDelayMs ?? 100;
    const max = this.opts.maxDelayMs ?? 5000;
    const base = this.state === 'version' ? VERSION_RETRY_MS : Math.min(max, min * 2 ** this.failures++);
    // Jitter, so many routers that lost the same server do not all knock at once when it is back.
    this.retry = setTimeout(() => this.connect(), base * (0.5 + Math.random() / 2));
  }

  private become(state: State, line: string): void {
    if (this.state !== state) this.opts.say?.(line);
    this.state = state;
  }

  /** Handles one message; says 'version' when the server speaks another protocol version. */
  private receive(ws: WebSocket, text: string): 'version' | undefined {
    let msg: ServerMessage;
    try {
      msg = JSON.parse(text) as ServerMessage;
    } catch {
      return undefined;
    }
    if (msg.type === 'snapshot') {
      if (msg.version !== PROTOCOL_VERSION) {
        this.become('version', `The route stream at ${this.url} speaks protocol version ${msg.version}, this router ${PROTOCOL_VERSION}: run the same paas version on both; serving the last table, retrying every ${VERSION_RETRY_MS / 1000} s`);
        ws.close(1002, 'protocol version mismatch');
        return 'version';
      }
      this.opts.table.apply(msg);
      this.frames = msg.features?.includes(LOG_FRAMES) ?? false;
      this.become('connected', `Route stream connected (${this.url}): ${msg.apps.length} app(s)`);
      this.flush();
    } else if (msg.type === 'drain') {
      this.opts.drain({ host: msg.host, port: msg.port }, msg.timeoutMs).then(
        (inFlight) => this.send(ws, { type: 'drained', id: msg.id, inFlight }),
        () => this.send(ws, { type: 'drained', id: msg.id, inFlight: 0 }),
      );
    } else if (this.state === 'connected') {
      this.opts.table.apply(msg);
    }
    return undefined;
  }

  private send(ws: WebSocket, msg: RouterMessage): void {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
  }

  private closeBatch(): void {
    if (this.n) this.batches.push({ data: this.buf!.subarray(0, this.used), n: this.n });
    this.buf = undefined;
    this.used = this.n = 0;
  }

  private flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    // The batch being filled is closed, so none grows past BATCH lines while the stream is away.
    this.closeBatch();
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || this.state !== 'connected') return;
    while (this.batches.length && ws.bufferedAmount < MAX_BUFFERED) {
      const batch = this.batches.shift()!;
      this.kept -= batch.n;
      const dropped = this.dropped ? { dropped: this.dropped } : {};
      this.dropped = 0;
      if (!this.frames) {
        this.send(ws, { type: 'logs', lines: readLogFrame(batch.data.toString('utf8')), ...dropped });
        continue;
      }
      ws.send(batch.data, { binary: true });
      if (dropped.dropped) this.send(ws, { type: 'logs', lines: [], ...dropped });
    }
    // Still behind: try again later rather than piling more onto the socket.
    if (this.batches.length) this.flushTimer = setTimeout(() => this.flush(), FLUSH_MS);
  }
}
