import type { Config } from '../config.js';
import type { DockerHost } from '../docker/engine.js';
import type { DockerNetworks } from '../docker/networks.js';
import type { SandboxHost } from '../sandbox/host.js';
import type { Db } from '../store/db.js';
import type { DataPaths } from '../store/paths.js';
import type { AppNetworks } from '../netns/networks.js';
import { failPendingBackups, findAddon, setAddonPassword, setAddonState } from '../store/addons.js';
import { findAppByUid } from '../store/apps.js';
import { scrub } from './scrub.js';
import { DockerAddons } from './docker/addons.js';
import type { AddonEvents, AddonServices, SquatReport } from './types.js';
import { ProcessAddons } from './process/index.js';

/** What the control plane does when an add-on's port was squatted (see control/addons.ts). */
export interface SquatHandlers {
  /** Tells the app that owned the squatter (its log). */
  squatted(report: SquatReport): void;
  /** Hands the add-on's new URL to its attached apps (a release each). */
  rotated(name: string): void;
}

/** The server log's line about a squatter: who, and what paas did. */
export function squatLine(r: SquatReport): string {
  const who = r.app ? `a process of the app ${r.app}` : `a program that is no app's`;
  const done = r.stopped ? 'paas stopped it (its process group)' : r.app ? 'paas could not stop it' : 'paas leaves it alone';
  return `its port ${r.port} was held by ${who} (uid ${r.uid}, pid ${r.pids.join(', ') || 'unknown'}): ${done}`;
}

/**
 * The add-ons' servers for this runtime (sandboxed child processes, or labelled containers on
 * Docker), their state changes recorded in the store and their lines in the server's log. Backups
 * a killed server left pending are marked failed first.
 */
export function addonServices(params: { config: Config; docker?: DockerHost; dockerNetworks?: DockerNetworks; db: Db; paths: DataPaths; sandbox: SandboxHost; networks?: AppNetworks; log: (line: string) => void; squats?: SquatHandlers }): AddonServices {
  const { config, docker, dockerNetworks, db, log, squats } = params;
  if (failPendingBackups(db)) log('Marked the PostgreSQL backups a previous paas server left unfinished failed');
  const events: AddonEvents = {
    // Masked should a server ever print its password: it must not reach our log.
    log: (name, line) => log(`addon[${name}] ${scrub(line, findAddon(db, name)?.password ?? '')}`),
    state: (name, state) => setAddonState(db, name, state),
    squatted: (report) => {
      events.log(report.addon, squatLine(report));
      squats?.squatted(report);
    },
    rotated: (name, password) => {
      setAddonPassword(db, name, password);
      squats?.rotated(name);
    },
  };
  if (docker && dockerNetworks) {
    const images = { stackImage: config.docker.stackImage, caFile: config.docker.buildCaFile, log };
    return new DockerAddons({ docker: docker.engine, instance: docker.instance, networks: dockerNetworks, images, events });
  }
  return new ProcessAddons({ dir: params.paths.addons, sandbox: params.sandbox, events, networks: params.networks, appOf: (uid) => findAppByUid(db, uid)?.name });
}

/**
 * On shutdown, after the dynos, which use them to the end: stops every add-on cleanly (PostgreSQL
 * `fast`, Redis `SHUTDOWN SAVE`). On Docker the formation outlives the server, and so do the add-ons
 * it uses: they are let go, and the next server adopts them.
 */
export async function closeAddons(addons: AddonServices, log: (line: string) => void): Promise<void> {
  if (addons instanceof DockerAddons) return addons.detach();
  await addons.stopAll().catch((err: Error) => log(`Could not stop the add-ons cleanly: ${err.message}`));
}
