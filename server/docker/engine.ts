import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type Docker from 'dockerode';

import { LABELS } from '../../lib/docker/labels.js';

export { LABELS };

/** The engine this server runs builds, dynos and add-ons on, and its instance label (`instanceId`). */
export interface DockerHost {
  engine: Docker;
  instance: string;
}

/**
 * The id of the paas server of a data dir, for the `paas.instance` label: random, made on its first
 * start and kept in `<data dir>/instance`, so two servers whose data dirs have the same path (one
 * per host under compose, say) sharing an engine never take each other's objects for their own.
 */
export function instanceId(dataDir: string): string {
  const file = path.join(dataDir, 'instance');
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  try {
    fs.writeFileSync(file, `${randomBytes(6).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err; // made meanwhile: read theirs
  }
  return fs.readFileSync(file, 'utf8').trim();
}

/** The label filter that selects paas's own objects (optionally of one app), for list calls. */
export function ourFilter(scope: { instance?: string; app?: string } = {}, extra: string[] = []): { label: string[] } {
  const { instance, app } = scope;
  return { label: [`${LABELS.managed}=true`, ...(instance ? [`${LABELS.instance}=${instance}`] : []), ...(app ? [`${LABELS.app}=${app}`] : []), ...extra] };
}

/**
 * A client for the engine at DOCKER_HOST (or the default socket). dockerode is loaded on first use,
 * not at import, so the process runtime never pays for it.
 */
export async function connectDocker(): Promise<Docker> {
  const { default: DockerClient } = await import('dockerode');
  return new DockerClient();
}

/**
 * Whether an engine answers a ping within `timeoutMs`, and if not, why (for the start-up line). A
 * socket this user may not open (a laptop user outside the docker group) is said to be that, with
 * what to do: the engine may well be running.
 */
export async function probeDocker(docker: Docker, timeoutMs = 2000): Promise<{ ok: true; version: string } | { ok: false; reason: string }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)));
    const version = await Promise.race([docker.version(), timeout]);
    return { ok: true, version: version.Version };
  } catch (err) {
    const { message, code } = err as NodeJS.ErrnoException;
    if (code === 'EACCES') return { ok: false, reason: `${message}: this user (uid ${process.getuid?.()}) may not use the engine's socket; add it to the docker group and log in again, or run paas as root` };
    return { ok: false, reason: message };
  } finally {
    clearTimeout(timer);
  }
}
