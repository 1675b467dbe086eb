// The stack's Debian layer, made without an image registry: debootstrap a minimal bookworm into a
// directory, drop what no app needs at run time, and `docker import` a tar of it.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type Docker from 'dockerode';
import { BuildError } from '../errors.js';
import { eachLine } from '../../lib/lines.js';

/** Where debootstrap fetches packages unless PAAS_DEBIAN_MIRROR names another mirror. */
export const DEFAULT_DEBIAN_MIRROR = 'http://deb.debian.org/debian';

const SUITE = 'bookworm';
const DEBOOTSTRAP_TIMEOUT_MS = 15 * 60_000;

/**
 * Finds debootstrap and checks it can run (it needs root, to chroot and to own the files it
 * unpacks), before anything slow starts. Returns its path.
 */
export function findDebootstrap(): string {
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/sbin', '/sbin'];
  const bin = dirs.map((dir) => path.join(dir, 'debootstrap')).find((file) => isExecutable(file));
  if (!bin) throw new BuildError('Cannot build the stack image: debootstrap is not installed. Install it (as root: `apt-get install debootstrap`), then run `paas stack:build`.');
  if (process.getuid?.() !== 0) throw new BuildError('Cannot build the stack image: debootstrap needs root. Run `paas stack:build` as root (for example with sudo) once; paas uses the image from then on.');
  return bin;
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

// debootstrap prints five lines per package (retrieve, validate, extract, unpack, configure); the
// pusher sees the stages and a count instead.
const PER_PACKAGE = [/^I: (Retrieving|Validating) \S+ \S+$/, /^I: (Extracting|Unpacking|Configuring) \S+\.\.\.$/];

/** Runs debootstrap (minbase, plus `packages`) into the empty directory `dir`. */
export function debootstrap(bin: string, dir: string, packages: string[], mirror: string, log: (line: string) => void): Promise<void> {
  const argv = ['--variant=minbase', `--include=${packages.join(',')}`, SUITE, dir, mirror];
  log(`       Installing Debian 12 (${SUITE}) minbase with ${packages.join(', ')} from ${mirror}`);
  return new Promise((resolve, reject) => {
    // Its own process group, so a timeout stops its dpkg and chroot children too.
    const child = spawn(bin, argv, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    const tail: string[] = [];
    let retrieved = 0;
    for (const stream of [child.stdout, child.stderr]) {
      eachLine(stream, (raw) => {
        const line = raw.trimEnd();
        tail.push(line);
        if (tail.length > 20) tail.shift();
        if (line.startsWith('I: Retrieving ') && PER_PACKAGE[0].test(line)) retrieved++;
        if (line.trim() && !PER_PACKAGE.some((re) => re.test(line))) log(`       ${line}${line === 'I: Installing core packages...' ? ` (${retrieved} packages retrieved)` : ''}`);
      });
    }
    const timer = setTimeout(() => killGroup(child.pid), DEBOOTSTRAP_TIMEOUT_MS);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new BuildError(`Cannot build the stack image: could not run ${bin} (${err.message}).`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve();
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      const errors = tail.filter((l) => /^[EW]: /.test(l));
      const detail = [...(errors.length ? errors : tail.slice(-5)), ...logTail(dir)].map((l) => `\n       ${l}`).join('');
      reject(
        new BuildError(
          `debootstrap failed (it ${how}) while installing Debian from ${mirror}:${detail}\n` +
            `Check that ${mirror} is reachable from this host, or set PAAS_DEBIAN_MIRROR to a Debian mirror that is, then run \`paas stack:build\` again.`,
        ),
      );
    });
  });
}

function killGroup(pid: number | undefined): void {
  try {
    if (pid) process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** The end of debootstrap's own log, which names the failing package when dpkg fails. */
function logTail(dir: string): string[] {
  try {
    const lines = fs.readFileSync(path.join(dir, 'debootstrap', 'debootstrap.log'), 'utf8').trimEnd().split('\n');
    return ['(end of debootstrap.log:)', ...lines.slice(-5)];
  } catch {
    return [];
  }
}

// As Debian's official slim images do: no documentation, manuals or translations, now or when an
// app's Dockerfile installs more packages (copyright files stay).
const DPKG_EXCLUDES = `path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
`;

/** Removes package caches, apt lists, documentation and translations from the rootfs `dir`. */
export function slimRootfs(dir: string): void {
  for (const rel of ['var/cache/apt', 'var/lib/apt/lists', 'usr/share/man', 'usr/share/info', 'usr/share/lintian', 'var/log', 'debootstrap']) {
    emptyInside(dir, rel, (name) => name === 'partial' || name === 'lock');
  }
  emptyInside(dir, 'usr/share/locale', (name) => name === 'locale.alias');
  const doc = realDir(dir, 'usr/share/doc');
  if (doc) {
    for (const pkg of fs.readdirSync(doc, { withFileTypes: true })) {
      if (pkg.isDirectory()) emptyInside(dir, `usr/share/doc/${pkg.name}`, (name) => name === 'copyright');
      else fs.rmSync(path.join(doc, pkg.name), { force: true });
    }
  }
  fs.rmSync(path.join(dir, 'debootstrap'), { recursive: true, force: true });
  const dpkgConf = realDir(dir, 'etc/dpkg/dpkg.cfg.d');
  if (dpkgConf) fs.writeFileSync(path.join(dpkgConf, 'paas-slim'), DPKG_EXCLUDES, { mode: 0o644 });
}

/**
 * The directory `rel` inside `root`, if every component of it is a real directory. A rootfs holds
 * absolute symbolic links that point into the host when followed from outside, so nothing here
 * removes anything through one.
 */
function realDir(root: string, rel: string): string | undefined {
  let at = root;
  for (const part of rel.split('/')) {
    at = path.join(at, part);
    try {
      if (!fs.lstatSync(at).isDirectory()) return undefined;
    } catch {
      return undefined;
    }
  }
  return at;
}

/** Removes the entries of `root/rel`, except those `keep` names; never follows a link. */
function emptyInside(root: string, rel: string, keep: (name: string) => boolean): void {
  const dir = realDir(root, rel);
  if (!dir) return;
  for (const name of fs.readdirSync(dir)) {
    if (!keep(name)) fs.rmSync(path.join(dir, name), { recursive: true, force: true });
  }
}

/**
 * Imports the rootfs `dir` as an image tagged `ref`, with `labels` (through `docker import`, fed
 * a tar stream). Returns the image id.
 */
export async function importRootfs(docker: Docker, dir: string, ref: string, labels: Record<string, string>): Promise<string> {
  const { create } = await import('tar');
  const [repo, tag] = splitRef(ref);
  // Owners, modes (setuid included) and hard links as they are; device nodes and whatever is
  // under /proc and /sys are left out: Docker gives every container its own.
  // Written to a file first, then streamed from it: piping tar's stream straight into the engine's
  // request once stalled for good part-way (the engine waiting for bytes, node for nothing).
  const file = `${dir}.tar`;
  await create({ cwd: dir, file, portable: false, filter: (p) => !/^\.\/(dev|proc|sys)\/./.test(p) }, ['.']);
  const label = Object.entries(labels).map(([k, v]) => `LABEL ${k}=${JSON.stringify(v)}`);
  const tarball = fs.createReadStream(file);
  const stream = await docker.importImage(tarball, { repo, tag, changes: [...label, 'CMD ["bash"]'] } as object);
  const events = await followDocker(docker, stream);
  fs.rmSync(file, { force: true }); // inside the work dir, which goes anyway on a failure
  const status = events.map((e) => e.status).find((s) => typeof s === 'string' && s.startsWith('sha256:'));
  return status ?? (await docker.getImage(ref).inspect()).Id;
}

/** `name:tag` as its two parts. */
export function splitRef(ref: string): [string, string] {
  const colon = ref.lastIndexOf(':');
  return colon > ref.lastIndexOf('/') ? [ref.slice(0, colon), ref.slice(colon + 1)] : [ref, 'latest'];
}

/** One event of the engine's JSON progress stream (build, import). */
export interface DockerEvent {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { ID?: string };
}

/** Reads a JSON progress stream to its end; an error event fails it. */
export function followDocker(docker: Docker, stream: NodeJS.ReadableStream, onEvent?: (event: DockerEvent) => void): Promise<DockerEvent[]> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (err: Error | null, events: DockerEvent[]) => {
        const failed = err ? err.message : events.find((e) => e.error)?.error;
        if (failed) reject(new BuildError(failed));
        else resolve(events);
      },
      onEvent,
    );
  });
}
