import os from 'node:os';
import type { ExitStatus } from './types.js';

const SIGNAL_NAMES = new Map(Object.entries(os.constants.signals).map(([name, n]) => [n, name]));

/**
 * bwrap and Docker's init exit with 128 + n when the app died of signal n; report it as the signal,
 * as without a sandbox.
 */
export function exitStatus(code: number | null, signal: string | null, mapsSignals: boolean): ExitStatus {
  if (mapsSignals && code !== null && code > 128 && SIGNAL_NAMES.has(code - 128)) return { code: null, signal: SIGNAL_NAMES.get(code - 128)! };
  return { code, signal };
}

/** How long an exited dyno's output may take to end: something it left running can hold the pipes open. */
export const DRAIN_MS = 1000;

/** Settles when every stream has ended (or closed, or failed). */
export function allEnded(...streams: NodeJS.ReadableStream[]): Promise<void> {
  const one = (s: NodeJS.ReadableStream) =>
    new Promise<void>((resolve) => {
      s.once('end', resolve);
      s.once('close', resolve);
      s.once('error', () => resolve());
    });
  return Promise.all(streams.map(one)).then(() => undefined);
}

/** Waits for `done`, but no longer than `ms`. */
export async function atMost(done: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([done, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
