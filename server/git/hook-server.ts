import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import express from 'express';
import { errorHandler, notFound } from '../http/error-handler.js';
import { ConfigError } from '../config.js';
import type { Deps } from '../control/deps.js';
import { hookEndpoint } from './hook-endpoint.js';
import type { Pushes } from './pushes.js';

// sun_path holds 108 bytes on Linux, the terminating NUL included.
const MAX_SOCKET_PATH = 107;

export interface HookServer {
  close(): Promise<void>;
}

/**
 * Serves the pre-receive hook's callback on a Unix socket in `run/`, a directory only the server's
 * uid may enter, so no app (each runs as its own uid) can connect to it, whatever it learns. The
 * public API listener has no such route.
 */
export async function startHookServer(deps: Deps, pushes: Pushes): Promise<HookServer> {
  const { run, hookSocket } = deps.paths;
  if (Buffer.byteLength(hookSocket) > MAX_SOCKET_PATH) {
    throw new ConfigError(`PAAS_DATA_DIR is too long: the git hook socket ${hookSocket} must be at most ${MAX_SOCKET_PATH} bytes. Use a shorter data directory path.`);
  }
  // run/ exists, mode 0700, made with the rest of the data dir (sandbox/data-dir.ts).
  // A server that was killed leaves its socket file behind, and listen() refuses an existing path.
  fs.rmSync(hookSocket, { force: true });

  const app = express();
  app.disable('x-powered-by');
  app.post('/apps/:app/pushes/:id/deploy', hookEndpoint(deps, pushes));
  app.use(notFound);
  app.use(errorHandler);
  const server = http.createServer(app);
  // The kernel lists every socket by the name it was bound with in /proc/net/unix, which apps can
  // read (they share the host's network namespace). Bound through a descriptor of run/, the name
  // says nothing of where the data dir is; the hook still connects by the real path.
  const runFd = fs.openSync(run, 'r');
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(`/proc/self/fd/${runFd}/${path.basename(hookSocket)}`, resolve);
    });
  } catch (err) {
    fs.closeSync(runFd);
    throw err;
  }
  return {
    // Called once deploys have drained; closing the server also unlinks the socket file.
    async close() {
      const closed = new Promise((r) => server.close(r));
      server.closeAllConnections();
      await closed;
      fs.closeSync(runFd);
    },
  };
}
