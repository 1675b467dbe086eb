import fs from 'node:fs';
import path from 'node:path';
import semver from 'semver';
import { readSlug } from '../../builder/index.js';
import type { Deps } from './deps.js';
import { currentRelease } from './queries.js';
import { deleteBackup, listAddons, listBackups } from '../store/addons.js';
import { type AppRow, listApps } from '../store/apps.js';
import { listDynos } from '../store/dynos.js';
import { findRelease, forgetSlug, listBuilds, listReleases, liveSlugIds, slugBuilds, succeededBuilds } from '../store/releases.js';
import { staleOutputs } from '../outputs/store.js';
import { entries, Usage } from '../disk/usage.js';
import { GC_KINDS, type GcKind, type GcReport } from '../../lib/disk-report.js';

export { GC_KINDS, type GcKind, type GcReport };

/** A scratch layer younger than this may belong to a dyno still starting: it is left for the next run. */
const SCRATCH_GRACE_MS = 60_000;
/** Package managers paas installs under the tools dir, one directory per version. */
const TOOL_NAMES = new Set(['npm', 'yarn', 'pnpm']);

class Collector {
  readonly report: GcReport;
  private readonly usage = new Usage('freed');

  constructor(readonly dryRun: boolean, keptReleases: number) {
    const freed = Object.fromEntries(GC_KINDS.map((k) => [k, { bytes: 0, items: 0 }])) as GcReport['freed'];
    this.report = { dry_run: dryRun, kept_releases: keptReleases, freed, total_bytes: 0, notes: [] };
  }

  /** Measures `target` and, unless a dry run, removes it. */
  async remove(kind: GcKind, target: string): Promise<void> {
    this.add(kind, await this.usage.measure(target));
    if (!this.dryRun) await fs.promises.rm(target, { recursive: true, force: true });
  }

  add(kind: GcKind, bytes: number, items = 1): void {
    this.report.freed[kind].bytes += bytes;
    this.report.freed[kind].items += items;
    this.report.total_bytes += bytes;
  }
}

/**
 * The builds an app keeps: those of its newest PAAS_KEEP_RELEASES succeeded releases (what a
 * rollback may pick), its current release's, and those of releases its dynos run (the old web
 * dynos of a release on trial among them). Read under the app's lock: no build of it is in flight.
 */
function keptBuilds(app: AppRow, deps: Deps): Set<string> {
  const keep = new Set(succeededBuilds(deps.db, app.id, deps.config.disk.keepReleases));
  const current = currentRelease(app, deps)?.build_id;
  if (current) keep.add(current);
  for (const dyno of listDynos(deps.db, app.id)) {
    const build = findRelease(deps.db, app.id, dyno.version)?.build_id;
    if (build) keep.add(build);
  }
  return keep;
}

/** One app's slugs, images and outputs beyond what it keeps, under its lock (a deploy in flight finishes first). */
async function collectApp(app: AppRow, c: Collector, deps: Deps): Promise<void> {
  const unlock = await deps.locks.acquire(app.name, 'paas gc');
  try {
    const keep = keptBuilds(app, deps);
    for (const build of slugBuilds(deps.db, app.id)) {
      if (keep.has(build.id)) continue;
      await c.remove('slugs', build.slug_dir);
      if (!c.dryRun) forgetSlug(deps.db, build.id);
    }
    c.add('images', await deps.builder.prune(app, keep, { dryRun: c.dryRun }), 0);
    const n = deps.config.disk.keepReleases;
    for (const file of await staleOutputs(deps.paths, 'build', app.name, listBuilds(deps.db, app.id, n).map((b) => b.id))) await c.remove('outputs', file);
    for (const file of await staleOutputs(deps.paths, 'release', app.name, listReleases(deps.db, app.id, n).map((r) => r.version))) await c.remove('outputs', file);
  } finally {
    unlock();
  }
}

/**
 * What no app owns any more: slug dirs of failed or abandoned builds and of destroyed apps, and the
 * outputs of destroyed apps. The directory is listed before the store is read: a build that starts
 * after the listing is not in it, and one that started before has its row by then.
 */
async function collectOrphans(c: Collector, deps: Deps): Promise<void> {
  const names = await entries(deps.paths.slugs);
  const live = liveSlugIds(deps.db);
  for (const name of names) if (!live.has(name)) await c.remove('slugs', path.join(deps.paths.slugs, name));
  const apps = new Set(listApps(deps.db).map((a) => a.name));
  for (const root of [deps.paths.builds, deps.paths.releaseOutputs]) {
    for (const name of await entries(root)) if (!apps.has(name)) await c.remove('outputs', path.join(root, name));
  }
}

/** Each add-on's backups beyond the newest PAAS_KEEP_BACKUPS succeeded ones, and failed ones; never one being taken. */
async function collectBackups(c: Collector, deps: Deps): Promise<void> {
  for (const addon of listAddons(deps.db)) {
    const rows = listBackups(deps.db, addon.id);
    const succeeded = rows.filter((b) => b.status === 'succeeded');
    const old = [...succeeded.slice(0, Math.max(0, succeeded.length - deps.config.disk.keepBackups)), ...rows.filter((b) => b.status === 'failed')];
    for (const backup of old) {
      await c.remove('backups', backup.file);
      if (!c.dryRun) deleteBackup(deps.db, addon.id, backup.id);
    }
  }
}

/**
 * Node.js and package-manager versions no kept slug runs with. A build in flight may be using one
 * no slug has yet, so they wait for a moment no deploy is running; a dyno that needs a removed one
 * later (none should) installs it again.
 */
async function collectRuntimes(c: Collector, deps: Deps): Promise<void> {
  if (deps.locks.busy > 0) {
    c.report.notes.push('Node.js and package-manager versions were left for the next run: a deploy was in flight.');
    return;
  }
  const nodes = new Set<string>();
  const tools = new Set<string>();
  for (const app of listApps(deps.db)) {
    for (const build of slugBuilds(deps.db, app.id)) {
      const slug = await readSlug(build.slug_dir).catch(() => undefined);
      if (!slug) continue;
      if (slug.node) nodes.add(slug.node);
      for (const tool of slug.tools ?? []) tools.add(tool.dir);
    }
  }
  // Only exact versions are ours; anything else there (an install in progress) is left alone.
  for (const name of await entries(deps.paths.node)) if (semver.valid(name) === name && !nodes.has(name)) await c.remove('node', path.join(deps.paths.node, name));
  for (const tool of await entries(deps.paths.tools)) {
    if (!TOOL_NAMES.has(tool)) continue;
    for (const version of await entries(path.join(deps.paths.tools, tool))) {
      if (semver.valid(version.split('+')[0]) && !tools.has(`${tool}/${version}`)) await c.remove('tools', path.join(deps.paths.tools, tool, version));
    }
  }
}

/** Scratch layers no running dyno uses (a dyno's that was killed with its server, a build step's left behind). */
async function collectScratch(c: Collector, deps: Deps): Promise<void> {
  const inUse = deps.runner.scratchInUse();
  const names = await entries(deps.paths.scratch);
  const busy = deps.locks.busy > 0;
  for (const name of names) {
    if (inUse.has(name)) continue;
    // A build step's layer is in use while any deploy runs; a probe's only for a moment at start-up.
    if (busy && /^(build|probe)-/.test(name)) continue;
    const st = await fs.promises.lstat(path.join(deps.paths.scratch, name)).catch(() => undefined);
    if (!st || Date.now() - st.mtimeMs < SCRATCH_GRACE_MS) continue;
    await c.remove('scratch', path.join(deps.paths.scratch, name));
  }
}

/**
 * Collects what no kept release needs (see docs/operations.md): per app, slugs, images and outputs
 * beyond PAAS_KEEP_RELEASES (never the current release's, nor one a dyno runs); then orphans, old
 * backups, unused Node.js and package-manager versions and stale scratch layers. Reports the bytes
 * per kind; with `dryRun`, removes nothing.
 */
export async function collectGarbage(deps: Deps, opts: { dryRun?: boolean } = {}): Promise<GcReport> {
  const c = new Collector(Boolean(opts.dryRun), deps.config.disk.keepReleases);
  for (const app of listApps(deps.db)) await collectApp(app, c, deps);
  await collectOrphans(c, deps);
  await collectBackups(c, deps);
  await collectRuntimes(c, deps);
  await collectScratch(c, deps);
  return c.report;
}
