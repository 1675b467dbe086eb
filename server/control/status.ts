import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Deps } from './deps.js';
import { freeBytes } from '../disk/space.js';
import { Usage } from '../disk/usage.js';
import type { DataPaths } from '../store/paths.js';
import type { ServerStatus } from '../../lib/disk-report.js';

/** The parts of the data dir `paas status` measures, as `paas gc` names what it frees. */
function parts(paths: DataPaths): Record<string, string[]> {
  return {
    slugs: [paths.slugs],
    node: [paths.node],
    tools: [paths.tools],
    repos: [paths.repos],
    logs: [paths.logs],
    outputs: [paths.builds, paths.releaseOutputs],
    backups: [paths.backups],
    addons: [paths.addons],
    cache: [paths.cache],
    scratch: [paths.scratch],
    store: [paths.db, `${paths.db}-wal`, `${paths.db}-shm`],
  };
}

let version: string | undefined;

/** paas's own version, from the package.json above this module (in the source tree and in dist/ alike). */
export function paasVersion(): string {
  if (version) return version;
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'paas' && pkg.version) return (version = pkg.version);
    } catch {
      // not here: one level up
    }
  }
  return (version = 'unknown');
}

/** GET /v1/status: measures the data dir part by part (a walk of it: seconds on a big one). */
export async function serverStatus(deps: Pick<Deps, 'config' | 'paths' | 'runner' | 'builder'>): Promise<ServerStatus> {
  const usage = new Usage('used');
  const used: Record<string, number> = {};
  for (const [part, targets] of Object.entries(parts(deps.paths))) {
    used[part] = 0;
    for (const target of targets) used[part] += await usage.measure(target);
  }
  if (deps.builder.storedBytes) used.images = await deps.builder.storedBytes();
  const st = fs.statfsSync(deps.paths.root);
  const { disk } = deps.config;
  return {
    version: paasVersion(),
    runtime: deps.runner.runtimeName,
    data_dir: deps.paths.root,
    disk: { total_bytes: Number(st.blocks) * Number(st.bsize), free_bytes: freeBytes(deps.paths.root), min_free_bytes: disk.minFreeBytes },
    used,
    used_bytes: Object.values(used).reduce((a, b) => a + b, 0),
    gc: { keep_releases: disk.keepReleases, keep_backups: disk.keepBackups, interval_ms: disk.gcIntervalMs },
  };
}
