import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Buildpack } from '../types.js';

/** The compiled static server ships inside each static slug, so the slug runs on its own. */
function staticServerSource(): string {
  return fileURLToPath(new URL('../static-server.js', import.meta.url));
}

export const staticBuildpack: Buildpack = {
  name: 'Static site',
  // Only a bare site: with a package.json or a Procfile the app says how it wants to be served.
  detect: (files) => files.has('index.html') && !files.has('Procfile'),
  async compile(dir, req) {
    await fs.mkdir(path.join(dir, '.paas'), { recursive: true });
    await fs.copyFile(staticServerSource(), path.join(dir, '.paas', 'static-server.mjs'));
    req.log('-----> Serving files with the built-in static server');
    return { processTypes: { web: 'node .paas/static-server.mjs' }, pathPrepend: [] };
  },
};

export const procfileBuildpack: Buildpack = {
  name: 'Procfile',
  detect: (files) => files.has('Procfile'),
  async compile() {
    return { processTypes: {}, pathPrepend: [] };
  },
};
