// Runs one image build on the engine (classic builder) and turns its JSON stream into Heroku-style
// build output and, on failure, a BuildError that names the failing step.
import type Docker from 'dockerode';
import type { BuildLimits } from '../../lib/dyno-limits.js';
import { BuildError } from '../errors.js';
import { excerpt } from '../safe-fs.js';
import { MAX_LINE } from '../../lib/lines.js';

/** One object of the engine's build stream. */
interface BuildMessage {
  stream?: string;
  error?: string;
  errorDetail?: { message?: string; code?: number };
  aux?: { ID?: string };
  status?: string;
}

export interface RunBuildOptions {
  /** The Dockerfile's path inside the context. */
  dockerfile: string;
  tag: string;
  /** Labels the engine adds (an app's own Dockerfile); generated ones carry theirs in a LABEL line. */
  labels?: Record<string, string>;
  log: (line: string) => void;
  /** A heading to print when step N starts ("-----> Installing dependencies with npm ci"). */
  heading?: (step: number) => string | undefined;
  /**
   * What to tell the pusher when step N fails: generated Dockerfiles name the plan step, an app's
   * own Dockerfile gets undefined (its step is quoted as written).
   */
  explain?: (step: number) => string | undefined;
  /** The whole error when step N's output says why it failed in a way paas knows (an out-of-sync lockfile). */
  hint?: (step: number, output: string[]) => string | undefined;
  /** Stops the build (the pusher hung up, the server is shutting down): the engine cancels it when its client goes. */
  signal?: AbortSignal;
  /**
   * Each step's memory (swap included) limit (PAAS_BUILD_MEMORY). The engine's build API has no
   * process limit: PAAS_BUILD_PIDS reaches builds through `cgroupParent`.
   */
  limits?: BuildLimits;
  /** A cgroup (made by the server, with pids.max) every step container goes under: the build's process limit. */
  cgroupParent?: string;
}

/**
 * The colour codes the classic builder wraps a RUN's stderr in (ESC[91m … ESC[0m): they would show
 * as `?[91m` in the pusher's terminal once git has escaped them, and as noise in the error quoted.
 */
// eslint-disable-next-line no-control-regex -- ESC is exactly what this matches
const BUILDER_COLOUR = /\x1b\[[\d;]*m/g;

/** The lines of the failing step's output worth quoting in the error: errors first, else the last ones. */
function telling(lines: string[]): string[] {
  const errors = lines.filter((l) => /\b(error|ERR!|fatal)\b/i.test(l));
  return (errors.length ? errors : lines).slice(-3).map((l) => excerpt(l.trim(), 200));
}

/**
 * Builds `context` (a tar stream) and returns the image id. Every line of output goes to `log`,
 * indented; intermediate containers are removed whether the build succeeds or not.
 */
export async function runBuild(docker: Docker, context: NodeJS.ReadableStream, opts: RunBuildOptions): Promise<string> {
  const memory = opts.limits ? { memory: opts.limits.memoryBytes, memswap: opts.limits.memoryBytes } : {};
  const cgroup = opts.cgroupParent ? { cgroupparent: opts.cgroupParent } : {};
  // Steps run on Docker's default bridge (networkmode unset): never on the host's network nor an app's.
  const stream = await docker.buildImage(context, { t: opts.tag, labels: opts.labels, dockerfile: opts.dockerfile, rm: true, forcerm: true, ...memory, ...cgroup });
  let step = 0;
  let stepLine = '';
  let stepOutput: string[] = [];
  let id: string | undefined;
  let failure: BuildMessage | undefined;
  let partial = '';
  const onLine = (raw: string) => {
    const line = raw.length > MAX_LINE ? `${raw.slice(0, MAX_LINE)} [paas: line cut]` : raw;
    const m = /^Step (\d+)\/\d+ : /.exec(line);
    if (m) {
      step = Number(m[1]);
      stepLine = line;
      stepOutput = [];
      const heading = opts.heading?.(step);
      if (heading) opts.log(heading);
    } else if (line.trim()) {
      stepOutput.push(line);
      if (stepOutput.length > 200) stepOutput.shift();
    }
    if (line.trim()) opts.log(`       ${line}`);
  };
  const onMessage = (msg: BuildMessage) => {
    if (typeof msg.stream === 'string') {
      const parts = (partial + msg.stream).split('\n');
      partial = parts.pop() ?? '';
      for (const p of parts) onLine(p.replace(/\r$/, '').replace(BUILDER_COLOUR, ''));
    }
    if (msg.aux?.ID) id = msg.aux.ID;
    if (msg.error) failure = msg;
  };
  await new Promise<void>((resolve, reject) => {
    let buf = '';
    stream.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const text = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!text) continue;
        try {
          onMessage(JSON.parse(text) as BuildMessage);
        } catch {
          onLine(text); // not JSON: pass it on as output rather than lose it
        }
      }
    });
    stream.on('error', reject);
    stream.on('end', () => resolve());
    const stop = () => {
      (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
      reject(new BuildError(`The build was stopped: ${String(opts.signal?.reason ?? 'cancelled')}`));
    };
    if (opts.signal?.aborted) stop();
    opts.signal?.addEventListener('abort', stop, { once: true });
  });
  if (partial) onLine(partial);
  if (failure) {
    const error = failure.errorDetail?.message ?? failure.error ?? 'unknown error';
    opts.log(` !     ${error}`);
    const hint = opts.hint?.(step, stepOutput);
    if (hint) throw new BuildError(hint);
    const what = opts.explain?.(step);
    const code = failure.errorDetail?.code ?? /returned a non-zero code: (\d+)/.exec(error)?.[1];
    const quoted = telling(stepOutput);
    const said = quoted.length ? ` It said:\n  ${quoted.join('\n  ')}\n` : ' ';
    if (what) throw new BuildError(`${what}${code !== undefined ? ` (exit code ${code})` : ''}.${said}See the output above, fix the app and push again.`);
    const at = stepLine ? `\`${excerpt(stepLine, 200)}\`` : 'the Dockerfile';
    throw new BuildError(`The image build failed at ${at}: ${excerpt(error, 300)}.${said}See the output above, fix the Dockerfile and push again.`);
  }
  if (!id) {
    // Old engines say only "Successfully built <id>"; the tag is there either way.
    id = (await docker.getImage(opts.tag).inspect()).Id;
  }
  return id;
}
