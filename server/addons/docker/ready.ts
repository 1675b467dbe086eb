// Readiness checked inside the add-on's own container (docker exec), never through the port
// Docker publishes on the host's loopback: whatever holds that port is not proven to be the
// add-on, and the Redis check sends the password. In the container's own network namespace,
// 127.0.0.1:6379 and PostgreSQL's socket in /tmp are the server's and nobody else's.
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import type { AddonInstance } from '../types.js';
import { execIn } from './backup.js';
import { postmasterReady } from '../postmaster-ready.js';

// The password comes on stdin and reaches redis-cli through its environment (REDISCLI_AUTH), never argv.
const REDIS_PING = 'IFS= read -r password; REDISCLI_AUTH="$password" exec redis-cli --no-auth-warning -h 127.0.0.1 -p 6379 PING';

/**
 * Whether the server in `container` answers: PostgreSQL's postmaster.pid says it accepts
 * connections (as pg_ctl tells: no probe connection for it to log as FATAL), Redis answers PING after AUTH (`-LOADING` while it replays its AOF).
 */
export async function serverAnswers(docker: Docker, container: string, addon: AddonInstance): Promise<boolean> {
  const out = new PassThrough();
  let answer = '';
  out.on('data', (chunk: Buffer) => (answer += chunk.toString()));
  try {
    if (addon.service === 'postgresql') await execIn(docker, container, addon, ['sh', '-c', 'cat "$PGDATA/postmaster.pid"'], { output: out });
    else await execIn(docker, container, addon, ['sh', '-c', REDIS_PING], { text: `${addon.password}\n`, output: out });
  } catch {
    return false;
  }
  return addon.service === 'postgresql' ? postmasterReady(answer) : answer.trim() === 'PONG';
}
