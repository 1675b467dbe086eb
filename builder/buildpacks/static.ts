import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { handOver } from '../safe-fs.js';
import { RESERVED } from '../tree-check.js';
import type { BuildPlan, Buildpack } from '../types.js';

/**
 * The compiled static server ships inside each static slug, so the slug runs on its own (and a
 * dyno that sees only its tree can still start it).
 */
function staticServerSource(): string {
  return fileURLToPath(new URL('../static-server.js', import.meta.url));
}

/** Nothing to install or build: only the Procfile's or a buildpack's own processes. */
function emptyPlan(): BuildPlan {
  return { depsFiles: [], install: [], build: [], stepEnv: {}, paasFiles: {}, processTypes: {}, pathPrepend: [] };
}

export const staticBuildpack: Buildpack = {
  name: 'Static site',
  // Only a bare site: with a package.json or a Procfile the app says how it wants to be served.
  detect: (files) => files.has('index.html') && !files.has('Procfile'),
  async plan() {
    return { ...emptyPlan(), paasFiles: { 'static-server.mjs': staticServerSource() }, processTypes: { web: `node ${RESERVED}/static-server.mjs` } };
  },
  async compile(dir, req) {
    const plan = await this.plan(dir, { appPath: req.steps.pathOf(dir), nodePath: process.execPath, log: req.log });
    await addPaasFiles(dir, plan.paasFiles);
    if (req.steps.owner) await handOver(path.join(dir, RESERVED), req.steps.owner);
    req.log('-----> Serving files with the built-in static server');
    return { processTypes: plan.processTypes, pathPrepend: plan.pathPrepend };
  },
};

/** Copies paas's own files (a plan's `paasFiles`) into a fresh `.paas` directory of the tree. */
export async function addPaasFiles(dir: string, files: Record<string, string>): Promise<void> {
  if (Object.keys(files).length === 0) return;
  // The unpack check refused a pushed `.paas` and no app code has run yet, so this makes a fresh
  // directory; neither call follows or reuses anything already there.
  await fs.mkdir(path.join(dir, RESERVED));
  for (const [name, src] of Object.entries(files)) await fs.copyFile(src, path.join(dir, RESERVED, name), constants.COPYFILE_EXCL);
}

export const procfileBuildpack: Buildpack = {
  name: 'Procfile',
  detect: (files) => files.has('Procfile'),
  plan: async () => emptyPlan(),
  async compile() {
    return { processTypes: {}, pathPrepend: [] };
  },
};
