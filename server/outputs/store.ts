import fs from 'node:fs';
import path from 'node:path';
import type { DataPaths } from '../store/paths.js';
import { OutputFile, readOutput } from './file.js';

/** A build's id as the store makes it (randomUUID); anything else never names a file. */
export const BUILD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export type OutputKind = 'build' | 'release';

/**
 * Where an output lives: `<data>/builds/<app>/<build id>.log` or `<data>/releases/<app>/v<N>.log`.
 * `app` must be a validated app name, `key` a build id matching BUILD_ID or a release version.
 */
export function outputPath(paths: DataPaths, kind: OutputKind, app: string, key: string | number): string {
  const name = kind === 'build' ? String(key) : `v${Number(key)}`;
  if (kind === 'build' && !BUILD_ID.test(name)) throw new Error(`not a build id: ${JSON.stringify(name)}`);
  return path.join(kind === 'build' ? paths.builds : paths.releaseOutputs, app, `${name}.log`);
}

/** Starts keeping an output on disk (see OutputFile); creates the app's folder first. */
export function openOutput(paths: DataPaths, kind: OutputKind, app: string, key: string | number): OutputFile {
  const file = outputPath(paths, kind, app, key);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  return new OutputFile(file);
}

/** The output kept for a build or release, or undefined when none was (too old, or made before paas kept them). */
export function readKeptOutput(paths: DataPaths, kind: OutputKind, app: string, key: string | number): Promise<string | undefined> {
  return readOutput(outputPath(paths, kind, app, key));
}

/** The app's output files of one kind that are not those of `keep` (build ids or release versions). */
export async function staleOutputs(paths: DataPaths, kind: OutputKind, app: string, keep: (string | number)[]): Promise<string[]> {
  const dir = path.dirname(outputPath(paths, kind, app, kind === 'build' ? '00000000-0000-0000-0000-000000000000' : 0));
  const kept = new Set(keep.map((k) => path.basename(outputPath(paths, kind, app, k))));
  let names: string[];
  try {
    names = await fs.promises.readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []; // nothing kept yet
    throw err;
  }
  // A `.log`'s `.tail` goes with it.
  return names.filter((name) => !kept.has(name.replace(/\.tail(\.tmp)?$/, ''))).map((name) => path.join(dir, name));
}

/**
 * Deletes the app's outputs of one kind except those of `keep` (build ids or release versions), so
 * each app keeps a bounded number. Runs under the app's lock, after the newest output was closed.
 */
export async function pruneOutputs(paths: DataPaths, kind: OutputKind, app: string, keep: (string | number)[]): Promise<void> {
  for (const file of await staleOutputs(paths, kind, app, keep)) await fs.promises.rm(file, { force: true });
}

/** Removes every output of an app (apps:destroy). */
export async function removeAppOutputs(paths: DataPaths, app: string): Promise<void> {
  for (const root of [paths.builds, paths.releaseOutputs]) await fs.promises.rm(path.join(root, app), { recursive: true, force: true });
}
