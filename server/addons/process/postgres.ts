import { type ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { postmasterReady } from '../postmaster-ready.js';
import { type PgTarget, runClient } from './pg-client.js';
import { type AddonBox, seen, spawnInBox } from './sandbox.js';
import { runApart } from '../../../lib/run-apart.js';

const run = runApart;

/** The newest PostgreSQL Debian installed (`/usr/lib/postgresql/<major>/bin`), found when asked. */
export async function pgBin(): Promise<string> {
  const root = '/usr/lib/postgresql';
  let majors: string[] = [];
  try {
    majors = (await fs.readdir(root)).filter((d) => /^\d+$/.test(d)).sort((a, b) => Number(b) - Number(a));
  } catch {
    // None at all: said below.
  }
  for (const major of majors) {
    const bin = path.join(root, major, 'bin');
    try {
      await fs.access(path.join(bin, 'postgres'));
      return bin;
    } catch {
      continue;
    }
  }
  throw new Error('PostgreSQL is not installed on this host: install it (apt-get install postgresql) and try again');
}

/** `15.18` from `postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)`. */
export async function pgVersion(bin: string): Promise<string> {
  const { stdout } = await run(path.join(bin, 'postgres'), ['--version']);
  return /\d+(\.\d+)?/.exec(stdout)?.[0] ?? stdout.trim();
}

// A small host runs many of these: a few MB of shared memory and few connections each. Written
// after initdb's own settings, so these win. No statement is ever logged (they may hold secrets).
const TUNING = `
# paas: tuned for a small host (issue 14)
shared_buffers = 16MB
max_connections = 20
work_mem = 2MB
maintenance_work_mem = 16MB
effective_cache_size = 128MB
min_wal_size = 32MB
max_wal_size = 256MB
max_worker_processes = 4
max_parallel_workers_per_gather = 0
autovacuum_max_workers = 1
huge_pages = off
password_encryption = scram-sha-256
logging_collector = off
log_destination = 'stderr'
log_line_prefix = '%m [%p] '
log_statement = 'none'
log_min_duration_statement = -1
`;

/** A step's failure, its output with the password taken out in case a tool ever echoes it. */
function failure(what: string, err: unknown, secret: string): Error {
  const e = err as { stderr?: string; message: string };
  const text = (e.stderr?.trim() || e.message).split(secret).join('********');
  return new Error(`${what} failed: ${text}`);
}

/** Runs a tool in the add-on's sandbox, feeding `input` to its stdin; rejects with its stderr. */
export function runInBox(box: AddonBox, argv: string[], input = ''): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawnInBox(box, argv);
    let out = '';
    let err = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(input);
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve({ stdout: out, stderr: err }) : reject(Object.assign(new Error(`${path.basename(argv[0])} exited with ${code}`), { stderr: err || out }))));
  });
}

export interface PgInit {
  bin: string;
  user: string;
  database: string;
  password: string;
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * A new, empty cluster in `<dir>/data`. initdb takes most of a provisioning (0.9 s here), and
 * every cluster of one major version starts the same (no role, no secret yet): the first one is
 * kept as `template` (owned by paas, out of every sandbox's sight) and the next add-ons get a copy
 * of it (0.2 s). They share a system identifier, which only physical replication looks at.
 */
async function freshCluster(box: AddonBox, init: PgInit, template: string): Promise<void> {
  const hostData = path.join(box.dir, 'data');
  const owner = box.uid !== undefined ? [`${box.uid}:${box.uid}`] : [];
  if (await exists(template)) {
    await run('cp', ['-a', '--', template, hostData]);
    if (owner.length) await run('chown', ['-R', owner[0], '--', hostData]);
    return;
  }
  try {
    // initdb's own fsync of each file is most of its time; one `sync` of the filesystem once the
    // role is made gives the same durability (initdb 0.85 s + sync 0.05 s, against 1.1 s).
    await runInBox(box, [path.join(init.bin, 'initdb'), '-D', path.posix.join(seen(box), 'data'), '-U', 'postgres', '--auth-local=peer', '--auth-host=scram-sha-256', '-E', 'UTF8', '--locale=C.UTF-8', '--no-instructions', '--no-sync', '--wal-segsize=1']);
  } catch (err) {
    throw failure('initdb', err, init.password);
  }
  // The template is paas's own: an add-on's uid must not be able to change what later ones get.
  const tmp = `${template}.tmp-${process.pid}-${Date.now()}`;
  try {
    await run('cp', ['-a', '--', hostData, tmp]);
    if (owner.length) await run('chown', ['-R', `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`, '--', tmp]);
    await fs.rename(tmp, template);
  } catch {
    // Another provisioning made it first, or the copy failed: the next one runs initdb again.
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

/**
 * Who may log in: the superuser only over the socket in the add-on's own directory, the app's role
 * only over TCP with a password, from any address that reaches the server: its loopback listener,
 * or in its own network the apps attached to it, which nftables alone lets in. Written again at
 * each start, so clusters made before app networks (127.0.0.1 only) accept their apps.
 */
export async function writeHba(box: AddonBox, role: Pick<PgInit, 'user' | 'database'>, chown: (file: string) => Promise<void>): Promise<void> {
  const file = path.join(box.dir, 'data', 'pg_hba.conf');
  const hba = `# paas: the superuser only over the socket in the add-on's own directory, the app's role only over TCP with a password
local all postgres peer
host ${role.database} ${role.user} 0.0.0.0/0 scram-sha-256
`;
  await fs.writeFile(file, hba, { mode: 0o600 });
  await chown(file);
}

/**
 * Makes the cluster in `<dir>/data`: initdb (superuser `postgres`, reachable only by peer auth on
 * the unix socket inside the add-on's own 0700 directory, so it needs no password), then, before
 * any network is up, `postgres --single` makes the app's LOGIN role (no superuser) and a database
 * it owns. Over TCP only that role may log in, to that database, with SCRAM.
 */
export async function initCluster(box: AddonBox, init: PgInit, template: string, chown: (file: string) => Promise<void>): Promise<void> {
  const data = path.posix.join(seen(box), 'data');
  await freshCluster(box, init, template);
  const hostData = path.join(box.dir, 'data');
  await fs.appendFile(path.join(hostData, 'postgresql.conf'), TUNING);
  await writeHba(box, init, chown);
  // Each statement is one line in single-user mode. The password reaches postgres through stdin
  // only, and is stored as a SCRAM verifier (password_encryption).
  const sql = [
    `CREATE ROLE "${init.user}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '${init.password}';`,
    `CREATE DATABASE "${init.database}" OWNER "${init.user}";`,
    `REVOKE ALL ON DATABASE "${init.database}" FROM PUBLIC;`,
    '',
  ].join('\n');
  try {
    // Single-user mode exits 0 even when a statement failed: its errors are on stderr.
    const { stderr } = await runInBox(box, [path.join(init.bin, 'postgres'), '--single', '-D', data, '-c', 'log_statement=none', 'postgres'], sql);
    if (/^(ERROR|FATAL|PANIC):/m.test(stderr)) throw Object.assign(new Error('a statement failed'), { stderr });
  } catch (err) {
    throw failure('creating the role and database', err, init.password);
  }
  await run('sync', ['-f', path.join(box.dir, 'data')]);
}

/** The server itself, under supervision: `postgres -D`, listening on `address` only (its network's, or loopback). */
export function launchPostgres(box: AddonBox, bin: string, port: number, address: string): ChildProcess {
  const root = seen(box);
  return spawnInBox(box, [
    path.join(bin, 'postgres'),
    '-D', path.posix.join(root, 'data'),
    '-c', `port=${port}`,
    '-c', `listen_addresses=${address}`,
    '-c', `unix_socket_directories=${path.posix.join(root, 'run')}`,
  ]);
}

const pidFile = (box: AddonBox): string => path.join(box.dir, 'data', 'postmaster.pid');
const stampOf = (st: { ino: number; mtimeMs: number }): string => `${st.ino}:${st.mtimeMs}`;

/**
 * The data dir's postmaster.pid as it is before a launch (inode and mtime), if there is one: after
 * a crash it is the dead postmaster's, still saying `ready`, until the new one replaces it.
 */
export function stalePidFile(box: AddonBox): string | undefined {
  try {
    return stampOf(statSync(pidFile(box)));
  } catch {
    return undefined;
  }
}

/**
 * Polls the server's postmaster.pid, in the add-on's own data dir, until it says the server accepts
 * connections (postmaster-ready.ts: no probe connection, so no FATAL line in its log). A file left
 * as it was before the launch (`stale`, from stalePidFile) is the crashed postmaster's: its `ready`
 * says nothing of the new one, which a password change right after would find not yet listening.
 */
export async function waitPostgres(box: AddonBox, port: number, exited: () => boolean, deadline: number, stale?: string): Promise<void> {
  for (;;) {
    if (exited()) throw new Error('PostgreSQL exited while starting: see its log lines above');
    const file = await fs.open(pidFile(box), 'r').catch(() => undefined);
    if (file) {
      const [st, text] = await Promise.all([file.stat(), file.readFile('utf8')]).finally(() => void file.close());
      if (stampOf(st) !== stale && postmasterReady(text)) return;
    }
    if (Date.now() > deadline) throw new Error(`PostgreSQL did not accept connections on port ${port} in time: see its log lines above`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** `pg_dump -Fc` of the add-on's database into `file`, atomically (a temp file, fsynced, renamed). */
export async function capture(t: PgTarget, file: string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    await runClient(t, 'pg_dump', ['-Fc', '--no-owner'], { output: tmp });
    const fh = await fs.open(tmp, 'r');
    await fh.sync();
    await fh.close();
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw failure(`Backing up ${t.name} (is it running? paas addons:info ${t.name})`, err, t.password);
  }
}

/**
 * `pg_restore --clean --if-exists` of `file` into the add-on's database, as the app's role (it owns
 * everything it restores: --no-owner, --no-privileges), in one transaction: all or nothing.
 */
export async function restore(t: PgTarget, file: string): Promise<void> {
  try {
    await fs.access(file);
  } catch {
    throw new Error(`No backup at ${path.basename(file)}: list them with paas pg:backups`);
  }
  try {
    await runClient(t, 'pg_restore', ['--clean', '--if-exists', '--no-owner', '--no-privileges', '--single-transaction', '--exit-on-error'], { input: file });
  } catch (err) {
    throw failure(`Restoring ${t.name} (nothing was changed: the restore runs in one transaction)`, err, t.password);
  }
}

/**
 * Gives the app's role a new password and ends its sessions (one may be a stranger's who logged in
 * with the old one). The password reaches psql on stdin only, in a statement of paas's own.
 */
export async function rotatePostgres(t: PgTarget, password: string): Promise<void> {
  const sql = [
    `ALTER ROLE "${t.user}" PASSWORD '${password}';`,
    `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = '${t.user}' AND pid <> pg_backend_pid();`,
    '',
  ].join('\n');
  try {
    await runClient(t, 'psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1'], { text: sql });
  } catch (err) {
    throw failure(`Replacing the password of ${t.name}`, err, password);
  }
}
