import os from 'node:os';
import type { Command } from 'commander';
import WebSocket from 'ws';
import { CHANNEL, type ClientControl, type ServerControl, shellExitCode } from '../../lib/run-protocol.js';
import { api } from '../api.js';
import { apiUrl, requireToken } from '../auth.js';
import { CliError, parseCount } from '../errors.js';
import { appOption, resolveApp } from '../app-option.js';
import { out } from '../output.js';

/** Input sent but not yet taken by the server beyond which we stop reading stdin. */
const STDIN_HIGH_WATER = 1024 * 1024;

interface RunOptions {
  app?: string;
  env?: string[];
  detach?: boolean;
  timeout?: string;
}

function collect(value: string, all: string[] | undefined): string[] {
  return [...(all ?? []), value];
}

/** `-e KEY=VALUE` options as variables. */
function envOf(pairs: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq < 1) throw new CliError(`-e takes KEY=VALUE, not ${JSON.stringify(pair)}.`);
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return env;
}

export default function register(program: Command): void {
  program
    .command('run')
    .description('run a command in a one-off dyno of the current release, with its config (a terminal when stdin is one)')
    .argument('<command...>', 'the command and its arguments, or a Procfile process type (its command runs, the arguments appended); paas run options go before it (or end them with --)')
    .addOption(appOption())
    .option('-e, --env <KEY=VALUE>', 'a variable for this run only (repeatable)', collect)
    .option('--detach', 'run in the background; its output goes to the logs (paas logs)')
    .option('--timeout <seconds>', 'stop it after this long (default: none attached, 3600 detached)')
    // Everything from the command on is the command's own, its options included.
    .passThroughOptions()
    .allowUnknownOption()
    .action(async (argv: string[], opts: RunOptions) => {
      const app = await resolveApp(opts.app);
      const env = envOf(opts.env ?? []);
      const timeout = opts.timeout === undefined ? undefined : parseCount(opts.timeout, 86_400);
      if (opts.detach) {
        const run = await api<{ name: string; command: string }>('POST', `/v1/apps/${encodeURIComponent(app)}/dynos`, { argv, env, timeout });
        out(`Running ${run.command} on ${app}... up, ${run.name}`);
        out(`Its output goes to the logs: paas logs -a ${app}`);
        return;
      }
      const code = await attach(app, argv, env, timeout);
      // stdin may still hold the event loop: leave once what we wrote is out.
      process.stdout.write('', () => process.exit(code));
    });
}

/** Runs the command attached over the run websocket and resolves with its exit code. */
async function attach(app: string, argv: string[], env: Record<string, string>, timeout: number | undefined): Promise<number> {
  const tty = process.stdin.isTTY && process.stdout.isTTY;
  const q = new URLSearchParams();
  for (const arg of argv) q.append('arg', arg);
  for (const [k, v] of Object.entries(env)) q.append('env', `${k}=${v}`);
  if (tty) q.set('tty', `${process.stdout.rows || 24}x${process.stdout.columns || 80}`);
  if (timeout !== undefined) q.set('timeout', String(timeout));
  const ws = new WebSocket(`${apiUrl().replace(/^http/, 'ws')}/v1/apps/${encodeURIComponent(app)}/run?${q}`, {
    headers: { authorization: `Bearer ${requireToken()}` },
    perMessageDeflate: false,
  });
  const control = (m: ClientControl) => ws.send(JSON.stringify(m));
  const restore = tty ? rawTerminal() : () => undefined;
  return new Promise<number>((resolve, reject) => {
    let exit: number | undefined;
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => reject(new CliError(refusal(body, res.statusCode ?? 0))));
    });
    ws.on('error', (err) => reject(new CliError(`Could not reach the paas server at ${apiUrl()} (${(err as NodeJS.ErrnoException).code ?? err.message}). Is \`paas server\` running?`)));
    ws.on('open', () => {
      process.stdin.on('data', (chunk: Buffer) => {
        // What the server has not taken yet waits in our stdin, not in our memory.
        ws.send(Buffer.concat([Buffer.of(CHANNEL.stdin), chunk]), () => {
          if (ws.bufferedAmount < STDIN_HIGH_WATER) process.stdin.resume();
        });
        if (ws.bufferedAmount >= STDIN_HIGH_WATER) process.stdin.pause();
      });
      process.stdin.on('end', () => control({ type: 'eof' }));
      if (tty) process.stdout.on('resize', () => control({ type: 'resize', rows: process.stdout.rows, cols: process.stdout.columns }));
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) {
        const sink = data[0] === CHANNEL.stderr ? process.stderr : process.stdout;
        // A slow reader of our output slows the dyno's output, not our memory.
        if (!sink.write(data.subarray(1))) {
          ws.pause();
          sink.once('drain', () => ws.resume());
        }
        return;
      }
      const m = JSON.parse(data.toString()) as ServerControl;
      if (m.type === 'started' && !tty) process.stderr.write(`Running ${m.command} on ${app}... up, ${m.name}\n`);
      if (m.type === 'exit') exit = shellExitCode(m, os.constants.signals);
    });
    ws.on('close', () => {
      process.stdin.pause();
      if (exit !== undefined) resolve(exit);
      else reject(new CliError('The connection to the paas server was lost before the command finished; it was stopped.'));
    });
    // However it ends (a refused upgrade has no close), the terminal is left as it was found.
  }).finally(restore);
}

/** The server's JSON error of a refused upgrade, as a message. */
function refusal(body: string, status: number): string {
  try {
    return (JSON.parse(body) as { message?: string }).message ?? `HTTP ${status}`;
  } catch {
    return `The server at ${apiUrl()} answered HTTP ${status} with something that is not paas JSON. Check PAAS_API_URL.`;
  }
}

/** Puts the terminal in raw mode (keys, Ctrl-C included, go to the dyno as bytes); returns what restores it. */
function rawTerminal(): () => void {
  process.stdin.setRawMode(true);
  const restore = () => {
    if (process.stdin.isTTY) process.stdin.setRawMode(false);
  };
  // Killed from outside, we still leave the terminal as we found it.
  for (const signal of ['SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      restore();
      process.exit(128 + os.constants.signals[signal]);
    });
  }
  return restore;
}
