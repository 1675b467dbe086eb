import os from 'node:os';
import path from 'node:path';

/**
 * The data dir a `paas server` on this machine uses by default: PAAS_DATA_DIR if set, else
 * $XDG_DATA_HOME/paas, else ~/.local/share/paas. This mirrors the server's own default
 * (server/config.ts); the CLI speaks to the server only over HTTP and must not import its code, so
 * the two are kept in step by hand.
 */
export function serverDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PAAS_DATA_DIR) return path.resolve(env.PAAS_DATA_DIR);
  if (env.XDG_DATA_HOME) return path.join(path.resolve(env.XDG_DATA_HOME), 'paas');
  return path.join(env.HOME || os.homedir(), '.local', 'share', 'paas');
}
