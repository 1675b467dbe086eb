// What a release says about its dynos while they boot and when they fail to: the words users read
// in their push or CLI output. The runner decides what happened; this file says it.
import type { BootResult } from '../runtime/wait-port.js';
import type { ExitStatus } from '../runtime/types.js';

/** How many of a dyno's last output lines a boot failure quotes. */
const TAIL_LINES = 20;
/** A quoted line longer than this is cut: minified code can print 10,000-character lines. */
const TAIL_LINE_MAX = 1000;
/** How often a boot that is still being waited for says so. */
const PROGRESS_MS = 3000;

/** The last TAIL_LINES lines a dyno printed, stdout and stderr in the order they arrived. */
export class OutputTail {
  // A ring: every line of a dyno passes through here, and shifting an array at each one showed up
  // in the control plane's profile under a flood.
  private readonly ring: string[] = [];
  private next = 0;

  push(line: string): void {
    this.ring[this.next] = line;
    this.next = (this.next + 1) % TAIL_LINES;
  }

  private get lines(): string[] {
    return this.ring.length < TAIL_LINES ? this.ring : [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)];
  }

  /** The lines, indented under a heading; or a sentence saying there were none. */
  quote(): string {
    const lines = this.lines;
    if (lines.length === 0) return 'It printed nothing.';
    const quoted = lines.map((l) => `  ${l.length > TAIL_LINE_MAX ? `${l.slice(0, TAIL_LINE_MAX)} [paas: line cut here]` : l}`);
    const heading = lines.length === 1 ? 'Its last line of output:' : `Its last ${lines.length} lines of output:`;
    return [heading, ...quoted].join('\n');
  }
}

/**
 * Writes a progress line every PROGRESS_MS while a dyno is waited for, so a slow boot shows signs
 * of life instead of a silent minute. Returns the function that stops it.
 */
export function reportBootProgress(name: string, timeoutMs: number, log: (line: string) => void): () => void {
  const started = Date.now();
  const timer = setInterval(() => {
    log(`-----> Waiting for ${name} to listen on its port (${Math.round((Date.now() - started) / 1000)} s, giving up at ${Math.round(timeoutMs / 1000)} s)`);
  }, PROGRESS_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/** How a dyno's process ended, as the messages about it say it (`exited with code 1`). */
export function howItEnded(status: ExitStatus): string {
  if (status.code !== null) return `exited with code ${status.code}`;
  if (status.signal) return `was killed by ${status.signal}`;
  return 'could not be started';
}

/**
 * Why a dyno failed to boot: a first line that stands alone (it becomes the release's reason),
 * then what to do, then the dyno's last output as it printed it. Only a dyno still running at the
 * timeout, or seen listening on another port, is told about $PORT: for one that exited, its own
 * output says what went wrong.
 */
export function bootFailure(params: { app: string; name: string; port: number; result: Exclude<BootResult, { ok: true }>; timeoutMs: number; tail: OutputTail }): { summary: string; message: string } {
  const { app, name, result } = params;
  let summary: string;
  let advice: string;
  if (result.reason === 'wrong-port') {
    const ports = result.ports.length === 1 ? `port ${result.ports[0]}` : `ports ${result.ports.slice(0, -1).join(', ')} and ${result.ports.at(-1)}`;
    summary = `${name} is listening on ${ports}, not on $PORT (${params.port}): make it listen on process.env.PORT.`;
    advice =
      'paas gives each web dyno its port in $PORT and routes only there: listen on it, not on a fixed port ' +
      '(`server.listen(process.env.PORT)` in Node.js, `int(os.environ["PORT"])` in Python). paas stopped it.';
  } else if (result.reason === 'taken') {
    summary = `${name} could not start: another process on this host took its port ${params.port} first, so paas will not send it traffic.`;
    advice = 'This is not a fault of the app. Try again; if it keeps happening, tell the paas operator.';
  } else if (result.reason === 'timeout') {
    summary = `${name} did not listen on $PORT within ${Math.round(params.timeoutMs / 1000)} s; it was still running, and paas stopped it.`;
    advice =
      'Make the web process listen on the port in $PORT (for example `server.listen(process.env.PORT)`), not on a fixed port such as 3000. ' +
      'If it needs longer to start, the paas operator can raise PAAS_BOOT_TIMEOUT_MS.';
  } else {
    const code0 = result.status.code === 0 ? ': a web process must keep running and answer HTTP' : '';
    summary = `${name} ${howItEnded(result.status)} while booting, before it accepted any connection${code0}.`;
    advice = `Fix what its output below shows; \`paas logs -a ${app}\` has more of it.`;
  }
  return { summary, message: [summary, advice, params.tail.quote()].join('\n') };
}

/**
 * The push output of a release with no web process: nothing answers at the app's URL, and the
 * other types it declares run as the formation has them (none, for a type new to the app).
 */
export function noWebNotice(processTypes: Record<string, string>, formation: Record<string, number>): string[] {
  const others = Object.keys(processTypes).filter((t) => t !== 'release');
  const lines = ['-----> No web process type: nothing answers HTTP for this app.'];
  const running = others.filter((t) => (formation[t] ?? 0) > 0);
  if (running.length) lines.push(`       Running: ${running.map((t) => `${t}=${formation[t]}`).join(' ')} (\`paas ps:scale\` changes it).`);
  else if (others.length) lines.push(`       Its other process types (${others.join(', ')}) start with no dynos: scale them with \`paas ps:scale ${others[0]}=1\`.`);
  return lines;
}
