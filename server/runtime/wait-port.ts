import net from 'node:net';
import type { ExitStatus, RunningDyno } from './types.js';

export type BootResult =
  | { ok: true }
  | { ok: false; reason: 'exited'; status: ExitStatus }
  | { ok: false; reason: 'timeout' }
  | { ok: false; reason: 'taken' }
  /** The dyno listens, but on `ports`, not on its $PORT. */
  | { ok: false; reason: 'wrong-port'; ports: number[] };

function tryConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    sock.setTimeout(1000);
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
    sock.once('timeout', () => {
      sock.destroy();
      resolve(false);
    });
  });
}

const POLL_MS = 25;
/**
 * Most apps listen within a second of starting: until then the port is tried every few ms, and in
 * the first 200 ms (a small Node app binds in 30–60 ms) every millisecond, since each ms the router
 * learns of the new dyno later is a ms the deploy takes longer (issue 23). A refused connect to a
 * local port costs microseconds.
 */
const FAST_POLL_MS = 4;
const FASTEST_POLL_MS = 1;
const FASTEST_FOR_MS = 200;
const FAST_FOR_MS = 1000;
/** How often the dyno's own listeners are read (a walk of its processes' descriptors). */
const PORTS_EVERY_MS = 250;
/**
 * How long a dyno may listen elsewhere with nothing on $PORT before it is failed as listening on the
 * wrong port: an app may open another port (an admin or metrics one) a moment before its own.
 */
export const WRONG_PORT_GRACE_MS = 3000;

/**
 * Polls until the port accepts a connection (and, with `listening`, the dyno listens behind it), the dyno exits, or the timeout passes. With `owns`,
 * a listener that is not the dyno's (another app squatting the port it was given) is `taken`:
 * the dyno must never be routed to, since its traffic would go to the squatter.
 */
async function waitForPort(
  host: string,
  port: number,
  opts: { timeoutMs: number; exited: Promise<ExitStatus>; owns?: () => boolean; listening?: () => boolean; listenPorts?: () => number[] },
): Promise<BootResult> {
  let status: ExitStatus | undefined;
  void opts.exited.then((s) => (status = s));
  const started = Date.now();
  const deadline = started + opts.timeoutMs;
  let portsReadAt = 0;
  /** Since when the dyno has listened only on other ports than its own. */
  let elsewhereSince: number | undefined;
  while (Date.now() < deadline) {
    if (status) return { ok: false, reason: 'exited', status };
    // A published port may accept before the app listens behind it (Docker's proxy): not up yet.
    if ((!opts.listening || opts.listening()) && (await tryConnect(host, port))) return !opts.owns || opts.owns() ? { ok: true } : { ok: false, reason: 'taken' };
    if (opts.listenPorts && Date.now() - portsReadAt >= PORTS_EVERY_MS) {
      portsReadAt = Date.now();
      const ports = opts.listenPorts();
      if (ports.length === 0 || ports.includes(port)) elsewhereSince = undefined;
      else if (portsReadAt - (elsewhereSince ??= portsReadAt) >= WRONG_PORT_GRACE_MS) return { ok: false, reason: 'wrong-port', ports };
    }
    // A refused connect on loopback costs microseconds; polling often is what makes a deploy or
    // rollback go live the moment the app binds, instead of up to a backoff step later.
    const waited = Date.now() - started;
    await new Promise((r) => setTimeout(r, waited < FASTEST_FOR_MS ? FASTEST_POLL_MS : waited < FAST_FOR_MS ? FAST_POLL_MS : POLL_MS));
  }
  return { ok: false, reason: 'timeout' };
}

/**
 * Waits until a dyno is up by every check its runtime gives: its port accepts, the listener is the
 * dyno's own (`ownsPort`), and its app listens behind a proxy (`listening`); it fails early when
 * the dyno listens only elsewhere (`listenPorts`) for WRONG_PORT_GRACE_MS. Callers use this rather
 * than waitForPort, so no runtime's check can be left out.
 */
export function waitUntilUp(dyno: RunningDyno, timeoutMs: number): Promise<BootResult> {
  return waitForPort(dyno.host, dyno.port, { timeoutMs, exited: dyno.exited, owns: dyno.ownsPort, listening: dyno.listening, listenPorts: dyno.listenPorts });
}
