// bench:deploy's floors: what a person does by hand to put a code-only change live, timed from its
// start to the first 200 from the new code, on 127.0.0.1.
// - process runtime: `git push` to a bare repo, `git checkout` of the pushed commit into the live
//   directory (its node_modules, installed once before, stay), and `node server.js` booted.
// - docker runtime: `docker build` of a hand-written Dockerfile (the same stack image, the
//   dependency layer first, so a code-only change reuses it) and `docker run` with a loopback port.
// The first version is deployed before any timing (untimed), as paas's first push is.
import fs from 'node:fs';
import path from 'node:path';
import { sh, tempDir } from '../../test/helpers/paas.js';
import type { AppKind, AppState, Files } from './deploy-apps.js';
import { serves } from './deploy-apps.js';
import { type Daemon, freePort, get, startDaemon } from './proc.js';

/** How long any one wait (a deploy, a command) may take before the benchmark gives up. */
export const LIMIT_MS = 180_000;

/** A by-hand deployment of one app, deployed once already. */
export interface Floor {
  /** Writes `change` (untimed), then times its deploy until the first 200 serving `want`; ms. */
  deploy(change: Files, want: AppState): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Polls `probe` every 10 ms until it is true; ms since `t0`. Throws after LIMIT_MS, naming `what`,
 * or what `probe` throws (a probe that may meet a refused connection catches that itself).
 */
export async function pollUntil(t0: number, what: string, probe: () => Promise<boolean>): Promise<number> {
  for (;;) {
    if (await probe()) return performance.now() - t0;
    if (performance.now() - t0 > LIMIT_MS) throw new Error(`${what}: not within ${LIMIT_MS / 1000} s`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Runs a command to its end; throws with its output unless it exits 0. */
export async function must(cmd: string, args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<string> {
  const r = await sh(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.code}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** A probe: whether 127.0.0.1:`port` answers 200 serving `want` (a refused connection is a no). */
const answers = (port: number, want: AppState) => async (): Promise<boolean> => {
  const res = await get(port, '127.0.0.1').catch(() => undefined);
  return res?.status === 200 && serves(res.body, want);
};

const gitEnv = (): Record<string, string> => ({
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: tempDir('paas-bench-home-'),
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'Bench',
  GIT_AUTHOR_EMAIL: 'bench@example.com',
  GIT_COMMITTER_NAME: 'Bench',
  GIT_COMMITTER_EMAIL: 'bench@example.com',
});

function writeFiles(dir: string, files: Files): void {
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
}

/** The process runtime's floor: a bare repo, a live checkout of it, and node started on the checkout. */
export async function processFloor(kind: AppKind, files: Files): Promise<Floor> {
  const env = gitEnv();
  const work = tempDir('paas-bench-work-');
  const bare = tempDir('paas-bench-bare-');
  const live = tempDir('paas-bench-live-');
  await must('git', ['init', '-q', '-b', 'main', work], { env });
  await must('git', ['init', '-q', '--bare', bare], { env });
  let server: Daemon | undefined;

  const commit = async (change: Files): Promise<string> => {
    writeFiles(work, change);
    await must('git', ['add', '-A'], { cwd: work, env });
    await must('git', ['commit', '-q', '--allow-empty', '-m', 'change'], { cwd: work, env });
    return (await must('git', ['rev-parse', 'HEAD'], { cwd: work, env })).trim();
  };
  const checkout = async (sha: string): Promise<void> => {
    await must('git', ['push', '-q', bare, 'main'], { cwd: work, env });
    // -f: the live directory's tracked files become the commit's; node_modules (untracked) stays.
    await must('git', [`--git-dir=${bare}`, `--work-tree=${live}`, 'checkout', '-q', '-f', sha], { env });
  };
  const boot = async (t0: number, want: AppState): Promise<number> => {
    const port = await freePort();
    // An absolute path, so require() resolves express from the live directory's node_modules.
    server = startDaemon(process.execPath, [path.join(live, 'server.js')], { PATH: env.PATH, PORT: String(port), BENCH_HOST: '127.0.0.1' });
    return pollUntil(t0, 'the hand-run node server did not answer', answers(port, want));
  };
  const stopServer = async () => {
    await server?.stop(3000);
    server = undefined;
  };

  await checkout(await commit(files));
  if (kind === 'express') {
    // Installed once, as a person would before code-only changes; the timed deploys reuse it.
    await must('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund', '--ignore-scripts'], { cwd: live, env: { ...(process.env as Record<string, string>), TMPDIR: tempDir('paas-npm-tmp-') } });
  }
  try {
    await boot(performance.now(), { code: markerOf(files), value: '-' });
  } finally {
    await stopServer();
  }
  return {
    async deploy(change, want) {
      const sha = await commit(change);
      const t0 = performance.now();
      try {
        await checkout(sha);
        return await boot(t0, want);
      } finally {
        await stopServer();
      }
    },
    stop: stopServer,
  };
}

/** The marker in a server.js of deploy-apps.ts (to know what the first deploy serves). */
function markerOf(files: Files): string {
  const m = /code: ("[^"]*")/.exec(files['server.js'] ?? '');
  if (!m) throw new Error('server.js names no code marker');
  return JSON.parse(m[1]) as string;
}

/** Labels on the floor's images and containers, so the run's clean-up finds them (and only them). */
export const FLOOR_LABELS = ['--label', 'paas.managed=true', '--label', 'paas.app=bench-floor'];

/** The docker runtime's floor: `docker build` + `docker run` of a hand-written Dockerfile. */
export async function dockerFloor(kind: AppKind, files: Files, stack: string, ca: string | undefined, tag: string): Promise<Floor> {
  const dir = tempDir('paas-bench-floor-');
  writeFiles(dir, files);
  let trust = '';
  if (ca && kind === 'express') {
    fs.copyFileSync(ca, path.join(dir, 'ca.crt'));
    trust = 'COPY ca.crt /tmp/ca.crt\nENV NODE_EXTRA_CA_CERTS=/tmp/ca.crt\n';
  }
  const deps = kind === 'express' ? `${trust}COPY package.json package-lock.json ./\nRUN npm ci --omit=dev --no-audit --no-fund\n` : 'COPY package.json ./\n';
  fs.writeFileSync(path.join(dir, 'Dockerfile'), `FROM ${stack}\nWORKDIR /app\n${deps}COPY server.js Procfile ./\nCMD ["node", "server.js"]\n`);

  const ship = async (want: AppState): Promise<number> => {
    const t0 = performance.now();
    await must('docker', ['build', '-q', '-t', tag, ...FLOOR_LABELS, dir]);
    const port = await freePort();
    const id = (await must('docker', ['run', '-d', '--rm', '--init', ...FLOOR_LABELS, '-e', `PORT=${port}`, '-p', `127.0.0.1:${port}:${port}`, tag])).trim();
    try {
      return await pollUntil(t0, 'the hand-run container did not answer', answers(port, want));
    } finally {
      await sh('docker', ['rm', '-f', id]);
    }
  };
  // The first build makes the dependency layer the code-only builds reuse.
  await ship({ code: markerOf(files), value: '-' });
  return {
    async deploy(change, want) {
      writeFiles(dir, change);
      return ship(want);
    },
    async stop() {
      await sh('docker', ['rmi', '-f', tag]);
    },
  };
}
