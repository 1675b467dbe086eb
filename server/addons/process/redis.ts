import { type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { connectLocal } from './local-socket.js';
import { redisCommands } from './resp.js';
import { type AddonBox, seen, spawnInBox } from './sandbox.js';
import { runApart } from '../../../lib/run-apart.js';

const run = runApart;

export const REDIS_SERVER = '/usr/bin/redis-server';

/** `7.0.15` from `Redis server v=7.0.15 sha=…`. */
export async function redisVersion(): Promise<string> {
  try {
    const { stdout } = await run(REDIS_SERVER, ['--version']);
    return /v=(\S+)/.exec(stdout)?.[1] ?? stdout.trim();
  } catch {
    throw new Error('Redis is not installed on this host: install it (apt-get install redis-server) and try again');
  }
}

/** The socket paas itself talks to the server on, in the add-on's `run/` (see local-socket.ts). */
const SOCKET = 'redis.sock';

/**
 * The server's config, kept in its own 0700 directory (it holds the password, which so never
 * reaches argv). Loopback only, AOF fsynced every second, never daemonized. The port and paas's
 * own unix socket are given on the command line at each start (so add-ons made before the socket
 * get it too).
 */
export function redisConfig(box: AddonBox, password: string): string {
  return [
    '# paas add-on (issue 14): written at provisioning',
    'bind 127.0.0.1',
    'protected-mode yes',
    'daemonize no',
    'supervised no',
    `dir ${path.posix.join(seen(box), 'data')}`,
    'appendonly yes',
    'appendfsync everysec',
    'save 3600 1 300 100 60 10000',
    'loglevel notice',
    'logfile ""',
    `requirepass ${password}`,
    '',
  ].join('\n');
}

/**
 * The server under supervision, reading the config from its own directory, listening on `address`
 * (its network's own address, or loopback: given here, so configs written before app networks
 * follow) and on its unix socket in run/, paas's own way in.
 */
export function launchRedis(box: AddonBox, port: number, address: string): ChildProcess {
  const root = seen(box);
  return spawnInBox(box, [REDIS_SERVER, path.posix.join(root, 'redis.conf'), '--port', String(port), '--bind', address, '--unixsocket', path.posix.join(root, 'run', SOCKET), '--unixsocketperm', '700']);
}

/** paas's own way in: the socket in the add-on's run/ directory, never its TCP port. */
function ownSocket(box: AddonBox): () => ReturnType<typeof connectLocal> {
  return () => connectLocal(path.join(box.dir, 'run'), SOCKET);
}

/**
 * Polls AUTH + PING (the real protocol, with the real password) until it answers PONG, on the
 * add-on's own unix socket: the password never goes to a TCP listener someone else may hold.
 */
export async function waitRedis(box: AddonBox, port: number, password: string, exited: () => boolean, deadline: number): Promise<void> {
  for (;;) {
    if (exited()) throw new Error('Redis exited while starting: see its log lines above');
    try {
      const replies = await redisCommands(ownSocket(box), [['AUTH', password], ['PING']], 1000);
      if (replies[1] === 'PONG') return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`Redis did not answer on port ${port} in time: see its log lines above`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A clean stop: SHUTDOWN SAVE over the protocol, on its own socket (it writes its data, then exits). */
export async function shutdownRedis(box: AddonBox, password: string): Promise<void> {
  const replies = await redisCommands(ownSocket(box), [['AUTH', password], ['SHUTDOWN', 'SAVE']], 15_000);
  // SHUTDOWN answers only when it fails (then with an error); success closes the connection.
  const err = replies.find((r) => r instanceof Error);
  if (err) throw new Error(`Redis refused to shut down: ${err.message}`);
}

/**
 * Replaces the password: in its config file (for its next starts), then in the running server,
 * which cuts off every client (one may be a stranger's who logged in with the old one).
 */
export async function rotateRedis(box: AddonBox, oldPassword: string, password: string): Promise<void> {
  const conf = path.join(box.dir, 'redis.conf');
  const lines = (await fs.readFile(conf, 'utf8')).split('\n');
  // Written in place: the file keeps its owner (the add-on's uid) and its mode (0600).
  await fs.writeFile(conf, lines.map((l) => (l.startsWith('requirepass ') ? `requirepass ${password}` : l)).join('\n'));
  const replies = await redisCommands(ownSocket(box), [['AUTH', oldPassword], ['CONFIG', 'SET', 'requirepass', password], ['CLIENT', 'KILL', 'TYPE', 'normal'], ['CLIENT', 'KILL', 'TYPE', 'pubsub']], 5000);
  const refused = replies.slice(0, 2).find((r) => r instanceof Error);
  if (refused || replies.length < 2) throw new Error(`Redis refused the new password: ${refused?.message ?? 'no answer'}`);
}
