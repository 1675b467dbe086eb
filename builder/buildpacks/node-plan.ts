// What the Node.js buildpack's plan (node.ts) hands its host executor (node-compile.ts): types only,
// in a file of their own so that the two do not import each other.
import type { BuildPlan } from '../types.js';
import type { InstallCache } from './install-key.js';
import type { PackageManager } from './package-manager.js';

/** The parts of package.json the buildpack reads; anything may be missing or of another type. */
export interface PackageJson {
  [field: string]: unknown;
  scripts?: Record<string, unknown>;
  engines?: Record<string, unknown>;
  devDependencies?: Record<string, string>;
}

/** The Node.js plan, plus what the host executor needs: the package manager, and what the install makes (for the cache). */
export interface NodePlan extends BuildPlan {
  pkg: PackageJson;
  pm: PackageManager;
  installed: string[];
  /** Whether the install's output is reused when its inputs are unchanged: the tree's files it reads, or why not. */
  installCache: InstallCache;
  /** package.json's cacheDirectories, checked: kept between builds and restored before the install. */
  cacheDirectories: string[];
  /** What every process of the app needs from its package manager (in `env` too). */
  pmEnv: Record<string, string>;
}

