// What the builder asks of the npm registry (Node.js releases, npm, corepack, yarn and pnpm
// versions), always through the host's npm: it honours the operator's registry, proxy and CA
// settings (npmrc) as installs do. Answers are kept in memory for a few minutes.
import semver from 'semver';
import { excerpt } from './safe-fs.js';
import { runApart } from '../lib/run-apart.js';

const run = runApart;

/** The registry's lists change a few times a month; a push should not wait on them every time. */
const LIST_TTL_MS = 5 * 60_000;
const VIEW_TIMEOUT_MS = 60_000;

/**
 * The host npm's env: the server's, plus `extra` (the operator's registry settings, when a build
 * has them). npm would keep a compile cache in the shared temp dir: nothing of the server's belongs there.
 */
export function npmEnv(extra?: Record<string, string>): NodeJS.ProcessEnv {
  return { ...process.env, ...extra, NODE_DISABLE_COMPILE_CACHE: '1' };
}

/** The first lines npm printed as errors, which say why (ECONNREFUSED, E404, a certificate). */
export function npmReason(err: unknown): string {
  const stderr = String((err as { stderr?: unknown }).stderr ?? '');
  const lines = stderr.split('\n').filter((l) => /^npm (error|ERR!)/.test(l) && !/A complete log|verbose/.test(l));
  const text = lines.slice(0, 2).map((l) => l.replace(/^npm (error|ERR!)\s*/, '')).join(' ') || (err as Error).message.split('\n')[0];
  return excerpt(text, 300);
}

/** How the host's npm reaches the registry: another registry than its configuration names (tests), and the operator's settings as env. */
export interface NpmAccess {
  registry?: string;
  env?: Record<string, string>;
}

/** `npm view <args> --json`, parsed. */
export async function npmView(args: string[], access: NpmAccess = {}): Promise<unknown> {
  const { stdout } = await run('npm', ['view', ...args, '--json', ...(access.registry ? ['--registry', access.registry] : [])], {
    timeout: VIEW_TIMEOUT_MS,
    maxBuffer: 32 * 1024 * 1024,
    env: npmEnv(access.env),
  });
  return stdout.trim() ? (JSON.parse(stdout) as unknown) : undefined;
}

const answers = new Map<string, { at: number; value: Promise<unknown> }>();

/**
 * A registry answer kept for LIST_TTL_MS under `question` (and how it was asked); a failure is not
 * kept, so the next push asks again.
 */
function remembered<T>(question: string, access: NpmAccess, ask: () => Promise<T>): Promise<T> {
  const key = JSON.stringify([question, access.registry ?? '', access.env ?? {}]);
  const hit = answers.get(key);
  if (hit && Date.now() - hit.at < LIST_TTL_MS) return hit.value as Promise<T>;
  const entry = { at: Date.now(), value: ask() as Promise<unknown> };
  answers.set(key, entry);
  entry.value.catch(() => answers.get(key) === entry && answers.delete(key));
  return entry.value as Promise<T>;
}

/** The published versions of `pkg` (valid semver only), oldest first. */
export function registryVersions(pkg: string, access: NpmAccess = {}): Promise<string[]> {
  return remembered(`versions ${pkg}`, access, async () => {
    const list = await npmView([pkg, 'versions'], access);
    const versions = (Array.isArray(list) ? list : [list]).filter((v): v is string => typeof v === 'string' && semver.valid(v) !== null);
    if (versions.length === 0) throw new Error(`the registry lists no versions of ${pkg}`);
    return versions;
  });
}

/** Each release of `pkg` in `range` with the Node.js range its engines.node accepts (undefined: none given). */
export function registryEngines(pkg: string, range: string, access: NpmAccess = {}): Promise<{ version: string; node?: string }[]> {
  return remembered(`engines ${pkg}@${range}`, access, async () => {
    const list = await npmView([`${pkg}@${range}`, 'version', 'engines.node'], access);
    // One matching version comes back as an object, several as an array of them.
    const rows = (Array.isArray(list) ? list : [list]) as { version?: unknown; 'engines.node'?: unknown }[];
    return rows
      .filter((r) => typeof r?.version === 'string' && semver.valid(r.version) !== null)
      .map((r) => ({ version: r.version as string, node: typeof r['engines.node'] === 'string' ? r['engines.node'] : undefined }));
  });
}

/** The newest stable release of `pkg` whose engines.node accepts `node` (a release without engines.node does not count). */
export async function newestFor(pkg: string, range: string, node: string, access: NpmAccess = {}): Promise<string | undefined> {
  const ok = (await registryEngines(pkg, range, access)).filter((r) => !semver.prerelease(r.version) && r.node && semver.satisfies(node, r.node));
  return ok.map((r) => r.version).sort(semver.rcompare)[0];
}

/**
 * The registry's sha512 of `pkg@version`'s tarball as hex: pinned into a corepack reference, it
 * makes corepack check the download against the registry's own integrity.
 */
export function registryIntegrity(pkg: string, version: string, access: NpmAccess = {}): Promise<string> {
  return remembered(`integrity ${pkg}@${version}`, access, async () => {
    const integrity = await npmView([`${pkg}@${version}`, 'dist.integrity'], access);
    if (typeof integrity !== 'string' || !integrity.startsWith('sha512-')) throw new Error(`the registry gives no sha512 integrity for ${pkg}@${version}`);
    return Buffer.from(integrity.slice('sha512-'.length), 'base64').toString('hex');
  });
}
