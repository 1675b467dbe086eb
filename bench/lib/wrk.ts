// wrk, the load generator of bench:router, and the reading of what it prints. wrk has no
// machine-readable output without a Lua script, so its report is parsed, strictly: a report missing
// a line we rely on is an error, never a zero.
import { runBounded } from './proc.js';

export interface WrkResult {
  requestsPerSec: number;
  p99Ms: number;
  requests: number;
  /** connect + read + write + timeout, from "Socket errors:" (absent when there were none). */
  socketErrors: number;
  socketErrorsText: string;
  /** "Non-2xx or 3xx responses:"; wrk counts these as requests, so any makes the run fail. */
  badResponses: number;
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "1.23ms", "850.00us", "2.00s" as milliseconds. */
export function parseDuration(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(text.trim());
  if (!m) throw new Error(`not a wrk duration: ${JSON.stringify(text)}`);
  return Number(m[1]) * UNIT_MS[m[2]];
}

/** Reads a wrk report made with --latency. */
export function parseWrk(report: string): WrkResult {
  const rps = /^Requests\/sec:\s+([\d.]+)\s*$/m.exec(report);
  const p99 = /^\s+99%\s+(\S+)\s*$/m.exec(report);
  const total = /^\s+(\d+) requests in /m.exec(report);
  if (!rps || !p99 || !total) throw new Error(`cannot read wrk's report (was --latency given?):\n${report}`);
  const sock = /^\s+Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)\s*$/m.exec(report);
  const bad = /^\s+Non-2xx or 3xx responses: (\d+)\s*$/m.exec(report);
  return {
    requestsPerSec: Number(rps[1]),
    p99Ms: parseDuration(p99[1]),
    requests: Number(total[1]),
    socketErrors: sock ? sock.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0,
    socketErrorsText: sock ? sock[0].trim() : '',
    badResponses: bad ? Number(bad[1]) : 0,
  };
}

export interface WrkRun {
  wrk: string;
  port: number;
  host: string;
  connections: number;
  seconds: number;
  /** `https`: over TLS (wrk sends SNI, the URL's host: 127.0.0.1). */
  scheme?: 'http' | 'https';
  /** Connection: close on every request: wrk opens a new connection (a new handshake) per request. */
  close?: boolean;
}

/**
 * One wrk run at 127.0.0.1:`port`: one thread (wrk's own cost stays one core whatever is measured),
 * keep-alive connections (wrk's default), Host set. Throws if any response was not a success: those
 * are errors of the thing measured, not throughput.
 */
export async function runWrk(run: WrkRun, signal: AbortSignal): Promise<WrkResult> {
  // --timeout: wrk drops a response slower than its 2 s default from the latency figures (it counts
  // a timeout instead), which would flatter a slow leg's p99 exactly when it matters.
  const close = run.close ? ['-H', 'Connection: close'] : [];
  const args = ['-t1', `-c${run.connections}`, `-d${run.seconds}s`, `--timeout`, `${run.seconds + 5}s`, '--latency', '-H', `Host: ${run.host}`, ...close, `${run.scheme ?? 'http'}://127.0.0.1:${run.port}/`];
  // wrk stops itself after -d; the limit only catches a wrk that hangs.
  const report = await runBounded(run.wrk, args, (2 * run.seconds + 15) * 1000, signal);
  const result = parseWrk(report);
  if (result.badResponses > 0) throw new Error(`${result.badResponses} of ${result.requests} responses were not 2xx/3xx (wrk ${args.join(' ')}):\n${report}`);
  if (result.requests === 0) throw new NoRequestError(`no request completed (wrk ${args.join(' ')}):\n${report}`);
  return result;
}

class NoRequestError extends Error {}

/**
 * A warm-up run, whose figures are dropped. One in which no request completed is no error: on a
 * loaded machine 256 new TLS connections may not finish their handshakes within it (the run after
 * it, measured, still fails if that happens there). Any other failure is one.
 */
export async function warmUp(run: WrkRun, signal: AbortSignal): Promise<void> {
  try {
    await runWrk(run, signal);
  } catch (err) {
    if (!(err instanceof NoRequestError)) throw err;
  }
}
