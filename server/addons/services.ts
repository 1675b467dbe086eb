import type { Config } from '../config.js';
import type { DockerHost } from '../docker/engine.js';
import type { DockerNetworks } from '../docker/networks.js';
import type { SandboxHost } from '../sandbox/host.js';
import type { Db } from '../store/db.js';
import type { DataPaths } from '../store/paths.js';
import type { AppNetworks } from '../netns/networks.js';
import { failPendingBackups, findAddon, setAddonState } from '../store/addons.js';
import { scrub } from './scrub.js';
import { DockerAddons } from './docker/addons.js';
import type { AddonEvents, AddonServices } from './types.js';
import { ProcessAddons } from './process/index.js';

/**
 * The add-ons' servers for this runtime (sandboxed child processes, or labelled containers on
 * Docker), their state changes recorded in the store and their lines in the server's log. Backups
 * a killed server left pending are marked failed first.
 */
export function addonServices(params: { config: Config; docker?: DockerHost; dockerNetworks?: DockerNetworks; db: Db; paths: DataPaths; sandbox: SandboxHost; networks?: AppNetworks; log: (line: string) => void }): AddonServices {
  const { config, docker, dockerNetworks, db, log } = params;
  if (failPendingBackups(db)) log('Marked the PostgreSQL backups a previous paas server left unfinished failed');
  const events: AddonEvents = {
    // Masked should a server ever print its password: it must not reach our log.
    log: (name, line) => log(`addon[${name}] ${scrub(line, findAddon(db, name)?.password ?? '')}`),
    state: (name, state) => setAddonState(db, name, state),
  };
  if (docker && dockerNetworks) {
    const images = { stackImage: config.docker.stackImage, caFile: config.docker.buildCaFile, log };
    return new DockerAddons({ docker: docker.engine, instance: docker.instance, networks: dockerNetworks, images, events });
  }
  return new ProcessAddons({ dir: params.paths.addons, sandbox: params.sandbox, events, networks: params.networks });
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
