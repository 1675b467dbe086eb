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
 * The token the server on this machine keeps in `<data dir>/api-token`, when the API host is
 * loopback and we may read the file. It is mode 0600: the user who runs the server gets it, and
 * needs no login; anyone else gets nothing and must log in.
 */
export function localServerToken(apiHost: string): string | undefined {
  if (!LOOPBACK.has(apiHost)) return undefined; // a token of this machine's is for this machine's server only
  try {
    return fs.readFileSync(path.join(serverDataDir(), 'api-token'), 'utf8').trim() || undefined;
  } catch {
    return undefined; // no server here, another user's, or a data dir we were not told of
  }
}
