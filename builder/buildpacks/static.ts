import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { handOver } from '../safe-fs.js';
import { RESERVED } from '../tree-check.js';
import type { Buildpack } from '../types.js';

/**
 * The compiled static server ships inside each static slug, so the slug runs on its own (and a
 * dyno that sees only its tree can still start it).
 */
function staticServerSource(): string {
  return fileURLToPath(new URL('../static-server.js', import.meta.url));
}

export const staticBuildpack: Buildpack = {
  name: 'Static site',
  // Only a bare site: with a package.json or a Procfile the app says how it wants to be served.
  detect: (files) => files.has('index.html') && !files.has('Procfile'),
  async compile(dir, req) {
    // The unpack check refused a pushed `.paas` and no app code runs in a static build, so this
    // makes a fresh directory; neither call follows or reuses anything already there.
    await fs.mkdir(path.join(dir, RESERVED));
    await fs.copyFile(staticServerSource(), path.join(dir, RESERVED, 'static-server.mjs'), constants.COPYFILE_EXCL);
    if (req.steps.owner) await handOver(path.join(dir, RESERVED), req.steps.owner);
    req.log('-----> Serving files with the built-in static server');
    return { processTypes: { web: `node ${RESERVED}/static-server.mjs` }, pathPrepend: [] };
  },
};

export const procfileBuildpack: Buildpack = {
  name: 'Procfile',
  detect: (files) => files.has('Procfile'),
  async compile() {
    return { processTypes: {}, pathPrepend: [] };
  },
};
