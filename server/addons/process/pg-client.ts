// How paas's own PostgreSQL clients (pg_dump, pg_restore, psql) reach an add-on's server without
// handing its password to a listener paas has not verified.
import { createReadStream, createWriteStream } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { listenerUids } from '../../runtime/listeners.js';
import { type AddonBox, seen, spawnInBox } from './sandbox.js';

export interface PgTarget {
  box: AddonBox;
  bin: string;
  /** The address the server listens on: its network's, or loopback. */
  address: string;
  port: number;
  user: string;
  database: string;
  password: string;
  name: string;
}

/**
 * How pg_dump and pg_restore reach the server. In bubblewrap (the sandbox names the add-on's uid
 * `postgres`): inside the add-on's own sandbox, as the superuser by peer authentication on its
 * socket in run/, so no password is sent at all; `--role` makes them act as the app's role, as
 * before. Without bubblewrap the uid has no such name, so they log in over TCP as the app's role
 * with its password, but only once the listener on the port is seen to be the add-on's own uid
 * (`expectUid`): never to a program that took the port while the add-on was down.
 */
function client(t: PgTarget, tool: string, args: string[]): { argv: string[]; env: Record<string, string>; inBox: boolean } {
  if (t.box.host.kind === 'bwrap') {
    // psql has no --role: it runs as the superuser (only paas's own fixed statements go through it).
    const role = tool === 'psql' ? [] : [`--role=${t.user}`];
    return { argv: [path.join(t.bin, tool), ...args, '-h', path.posix.join(seen(t.box), 'run'), '-p', String(t.port), '-U', 'postgres', ...role, '-d', t.database], env: {}, inBox: true };
  }
  // The password goes through the environment only: argv is world-readable in /proc.
  return { argv: [path.join(t.bin, tool), ...args, '-h', t.address, '-p', String(t.port), '-U', t.user, '-d', t.database], env: { PGPASSWORD: t.password, PGCONNECT_TIMEOUT: '10' }, inBox: false };
}

/** Refuses to go on unless every listener on the add-on's port is its own uid's (the server paas started). */
export function expectOwnListener(port: number, uid: number): void {
  const uids = listenerUids(port, '/proc/net');
  if (uids.length === 0 || uids.some((u) => u !== uid)) throw new Error(`its port ${port} is not held by the add-on itself (is it running? paas addons:info)`);
}

/** Runs pg_dump, pg_restore or psql (see client) with the file `input` or `text` on its stdin and its stdout into `output`; rejects with its stderr. */
export async function runClient(t: PgTarget, tool: string, args: string[], io: { input?: string; text?: string; output?: string }): Promise<void> {
  const c = client(t, tool, args);
  if (!c.inBox) expectOwnListener(t.port, t.box.uid ?? process.getuid?.() ?? 0);
  const child = spawnInBox(t.box, c.argv, c.env);
  let err = '';
  child.stderr!.on('data', (chunk: Buffer) => err.length < 8192 && (err += chunk.toString()));
  const closed = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
  const streams = [
    io.output ? pipeline(child.stdout!, createWriteStream(io.output, { mode: 0o600 })) : (child.stdout!.resume(), Promise.resolve()),
    io.input ? pipeline(createReadStream(io.input), child.stdin!) : (child.stdin!.end(io.text ?? ''), Promise.resolve()),
  ];
  const [code] = await Promise.all([closed, ...streams.map((p) => p.catch(() => undefined))]);
  if (code !== 0) throw Object.assign(new Error(`${tool} exited with ${code}`), { stderr: err });
}

