import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * The data dir a `paas server` on this machine uses by default: PAAS_DATA_DIR if set, else
 * $XDG_DATA_HOME/paas (an absolute one: the XDG spec says to ignore a relative one), else
 * ~/.local/share/paas. This mirrors the server's own rule (defaultDataDir in server/config.ts); the
 * CLI speaks to the server only over HTTP and must not import its code, so the two are kept in
 * step by hand.
 */
export function serverDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PAAS_DATA_DIR) return path.resolve(env.PAAS_DATA_DIR);
  if (env.XDG_DATA_HOME && path.isAbsolute(env.XDG_DATA_HOME)) return path.join(env.XDG_DATA_HOME, 'paas');
  return path.join(env.HOME || os.homedir(), '.local', 'share', 'paas');
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * The uids owning the sockets that listen on TCP `port` on this machine, from /proc/net (which every
 * user may read). The server has the same check for dyno ports; the CLI keeps its own copy, as it
 * shares no code with the server.
 */
function listenerUids(port: number): number[] {
  const hexPort = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return ['/proc/net/tcp', '/proc/net/tcp6'].flatMap((table) => {
    let rows: string[];
    try {
      rows = fs.readFileSync(table, 'utf8').split('\n').slice(1);
    } catch {
      return [];
    }
    // sl local_address rem_address st … uid; state 0A is LISTEN.
    return rows.map((row) => row.trim().split(/\s+/)).filter((f) => f[1]?.endsWith(hexPort) && f[3] === '0A').map((f) => Number(f[7]));
  });
}

/** Whether what listens on TCP `port` of this machine runs as us (and something does). */
function listensAsUs(port: number): boolean {
  const uids = listenerUids(port);
  return uids.length > 0 && uids.every((uid) => uid === process.getuid?.());
}

/**
 * The token the server on this machine keeps in `<data dir>/api-token`, when the API is on loopback,
 * we may read the file, and what listens on the API port runs as us. The file is mode 0600: the user
 * who runs the server gets it and needs no login; anyone else gets nothing and must log in. The port
 * check keeps the token from whatever another user may have bound there while paas was down.
 */
export function localServerToken(api: URL): string | undefined {
  if (!LOOPBACK.has(api.hostname)) return undefined; // a token of this machine's is for this machine's server only
  if (!listensAsUs(Number(api.port || (api.protocol === 'https:' ? 443 : 80)))) return undefined;
  return readDataFile('api-token');
}

/**
 * The URL the server on this machine recorded in `<data dir>/api-url` at its start (any PORT), when
 * it is a loopback URL and what listens there runs as us: a server stopped since, or another user's
 * listener on that port, is not taken for it.
 */
export function localServerUrl(): string | undefined {
  const recorded = readDataFile('api-url');
  if (!recorded || !URL.canParse(recorded)) return undefined;
  const url = new URL(recorded);
  if (url.protocol !== 'http:' || !LOOPBACK.has(url.hostname) || !listensAsUs(Number(url.port || 80))) return undefined;
  return recorded;
}

function readDataFile(name: string): string | undefined {
  try {
    return fs.readFileSync(path.join(serverDataDir(), name), 'utf8').trim() || undefined;
  } catch {
    return undefined; // no server here, another user's, or a data dir we were not told of
  }
}
