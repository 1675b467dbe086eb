import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import type { ApiDeps } from './deps.js';
import { type OneOff, runRequest } from '../control/one-offs.js';
import { PaasError, UnauthorizedError } from '../../lib/errors.js';
import { SHUTTING_DOWN } from '../control/lifecycle.js';
import { refuseUpgrade as refuse } from './upgrades.js';
import { tokenFromRequest, tokenMatches } from './auth.js';
import { CHANNEL, type ClientControl, type ServerControl } from '../../lib/run-protocol.js';

/** Where a run's websocket is: `/v1/apps/:app/run`. */
export const RUN_PATH = /^\/v1\/apps\/([^/]+)\/run$/;
/** Output waiting for a client beyond this stops the dyno's output until it is below LOW_WATER. */
const HIGH_WATER = 1024 * 1024;
const LOW_WATER = 256 * 1024;

/** `tty=24x80` as a size; anything else is left to runRequest to refuse. */
function ttyParam(value: string | null): { rows: number; cols: number } | undefined {
  if (value === null) return undefined;
  const [rows, cols] = value.split('x').map(Number);
  return { rows, cols };
}

/** `env=KEY=VALUE` params as variables; one without `=` has no value, which runRequest refuses. */
function envParams(values: string[]): Record<string, string | undefined> {
  return Object.fromEntries(values.map((kv) => (kv.includes('=') ? [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] : [kv, undefined])));
}

/**
 * The `paas run` websocket (run-protocol.ts): returns an upgrade handler that takes the requests for
 * its path (and answers true) and leaves the rest to the next one. The dyno starts before the
 * upgrade, so a run that cannot start gets a plain HTTP error; it stops when the client goes away.
 */
export function runUpgrade(deps: ApiDeps, token: string): (req: IncomingMessage, socket: Duplex, head: Buffer) => boolean {
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 4 * 1024 * 1024 });
  return (req, socket, head) => {
    // No throw may leave an upgrade listener: it would end the server.
    let url: URL;
    let app: string;
    try {
      url = new URL(req.url ?? '/', 'http://paas');
      const match = RUN_PATH.exec(url.pathname);
      if (!match || req.method !== 'GET') return false;
      app = decodeURIComponent(match[1]);
    } catch {
      return false;
    }
    socket.on('error', () => socket.destroy());
    const refusal = refusalOf(req, deps, token);
    if (refusal) refuse(socket, refusal);
    else void attach(deps, wss, { req, socket, head, app, url });
    return true;
  };
}

function refusalOf(req: IncomingMessage, deps: ApiDeps, token: string): PaasError | undefined {
  // The CLI sends no Origin; a browser does, and must not run commands with credentials it cached.
  if (req.headers.origin !== undefined) return new PaasError('forbidden', 403, 'paas run is for the paas CLI, not browsers.');
  if (!tokenMatches(tokenFromRequest(req), token)) return new UnauthorizedError();
  if (deps.lifecycle.draining) return new PaasError('unavailable', 503, SHUTTING_DOWN);
  return undefined;
}

async function attach(deps: ApiDeps, wss: WebSocketServer, c: { req: IncomingMessage; socket: Duplex; head: Buffer; app: string; url: URL }): Promise<void> {
  let ws: WebSocket | undefined;
  // Output from before the upgrade is done waits here.
  const early: Buffer[] = [];
  let paused = false;
  const send = (frame: Buffer) => {
    if (!ws) return void early.push(frame);
    const socket = ws;
    socket.send(frame, () => {
      if (paused && socket.bufferedAmount < LOW_WATER) {
        paused = false;
        run.dyno.flow?.(true);
      }
    });
    // A client that reads slowly slows the dyno's output rather than filling the server's memory.
    if (!paused && socket.bufferedAmount > HIGH_WATER) {
      paused = true;
      run.dyno.flow?.(false);
    }
  };
  let run: OneOff;
  try {
    const q = c.url.searchParams;
    const request = runRequest(c.app, { argv: q.getAll('arg'), env: envParams(q.getAll('env')), tty: ttyParam(q.get('tty')), timeout: q.get('timeout') ?? undefined });
    run = await deps.runs.start(request, deps, (stream, chunk) => send(Buffer.concat([Buffer.of(stream === 'stdout' ? CHANNEL.stdout : CHANNEL.stderr), chunk])));
  } catch (err) {
    return refuse(c.socket, err instanceof PaasError ? err : new PaasError('run_failed', 500, `The command could not start: ${(err as Error).message}`));
  }
  // The client went away while the dyno started: nobody will attach to it.
  if (c.socket.destroyed) return void run.stop();
  c.socket.once('close', () => void run.stop());
  wss.handleUpgrade(c.req, c.socket, c.head, (socket) => {
    ws = socket;
    const control = (m: ServerControl) => socket.send(JSON.stringify(m));
    control({ type: 'started', name: run.name, command: run.command, release: run.release });
    for (const frame of early.splice(0)) socket.send(frame);
    socket.on('message', (data: RawData, isBinary: boolean) => onMessage(socket, run, data, isBinary));
    void run.dyno.exited.then((status) => {
      control({ type: 'exit', code: status.code, signal: status.signal });
      socket.close(1000, 'exited');
    });
  });
}

/** Input from the client: stdin bytes, its end, or a terminal's new size. */
function onMessage(ws: WebSocket, run: OneOff, data: RawData, isBinary: boolean): void {
  const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
  const stdin = run.dyno.stdin;
  if (isBinary) {
    // A dyno that reads its input slowly slows the client, not the server's memory.
    if (buf[0] === CHANNEL.stdin && stdin && !stdin.write(buf.subarray(1))) {
      ws.pause();
      stdin.drained(() => ws.resume());
    }
    return;
  }
  let m: ClientControl;
  try {
    m = JSON.parse(buf.toString()) as ClientControl;
  } catch {
    return;
  }
  if (m.type === 'eof') stdin?.end();
  else if (m.type === 'resize' && Number.isInteger(m.rows) && Number.isInteger(m.cols) && m.rows > 0 && m.cols > 0 && m.rows <= 1000 && m.cols <= 1000) {
    void run.dyno.resize?.({ rows: m.rows, cols: m.cols });
  }
}
