import fs from 'node:fs';
import path from 'node:path';
import { type Config, ConfigError } from '../config.js';
import type { DataPaths } from './paths.js';

/**
 * Data kept in ./.paas-data by paas versions before the XDG default would look lost (apps gone, a new
 * token): refuse to start on an empty new data dir while it is there, and say how to carry it over.
 */
export function refuseStrandedData(config: Config, paths: DataPaths): void {
  const legacy = config.legacyDataDir;
  if (!legacy || legacy === paths.root || fs.existsSync(paths.db) || !fs.existsSync(path.join(legacy, 'paas.db'))) return;
  throw new ConfigError(
    `paas now keeps its data in ${paths.root}, but this directory has data of an older paas in ${legacy}. ` +
      `Move it (mv ${legacy} ${paths.root}) while paas is stopped, or keep it where it is with PAAS_DATA_DIR=${legacy}.`,
  );
}
