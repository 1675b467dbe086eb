import { type ChildProcess, execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { redisCommands } from './resp.js';
import { type AddonBox, seen, spawnInBox } from './sandbox.js';

const run = promisify(execFile);

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

/**
 * The server's config, kept in its own 0700 directory (it holds the password, which so never
 * reaches argv). Loopback only, no unix socket, AOF fsynced every second, never daemonized.
 * The port is given on the command line at each start.
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
 * (its network's own address, or loopback): given here, so configs written before app networks follow.
 */
export function launchRedis(box: AddonBox, port: number, address: string): ChildProcess {
  return spawnInBox(box, [REDIS_SERVER, path.posix.join(seen(box), 'redis.conf'), '--port', String(port), '--bind', address]);
}

/** Polls AUTH + PING (the real protocol, with the real password) until it answers PONG. */
export async function waitRedis(address: string, port: number, password: string, exited: () => boolean, deadline: number): Promise<void> {
  for (;;) {
    if (exited()) throw new Error('Redis exited while starting: see its log lines above');
    try {
      const replies = await redisCommands(port, [['AUTH', password], ['PING']], 1000, address);
      if (replies[1] === 'PONG') return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`Redis did not answer on port ${port} in time: see its log lines above`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A clean stop: SHUTDOWN SAVE over the protocol (it writes its data, then exits). */
export async function shutdownRedis(address: string, port: number, password: string): Promise<void> {
  const replies = await redisCommands(port, [['AUTH', password], ['SHUTDOWN', 'SAVE']], 15_000, address);
  // SHUTDOWN answers only when it fails (then with an error); success closes the connection.
  const err = replies.find((r) => r instanceof Error);
  if (err) throw new Error(`Redis refused to shut down: ${err.message}`);
}
