import type { Command } from 'commander';
import { CliError } from '../errors.js';

/** How often a server started by npm checks that npm is still there. */
const PARENT_CHECK_MS = 1000;
/**
 * One Ctrl-C reaches the server twice when npm started it: from the terminal (the whole foreground
 * process group) and again from npm, which passes it on; a TERM to the process group does the same.
 * A second signal within this window is that same one, not a person asking to hurry.
 */
const SAME_SIGNAL_MS = 1000;

type Stop = (why: string, opts?: { fatal?: boolean }) => void;

/**
 * Every way the server is told to go ends in `stop`: SIGTERM, SIGINT and SIGHUP (a closed terminal),
 * npm going away, and fatal errors. Installed before start-up, so a signal then is not lost.
 */
function onEveryEnding(stop: Stop): void {
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => stop(`${signal} received`));
  process.on('uncaughtException', (err, origin) => {
    console.error(`paas: fatal uncaught exception (${origin}); shutting down:`, err);
    stop('Fatal error', { fatal: true });
  });
  process.on('unhandledRejection', (reason) => {
    console.error('paas: fatal unhandled promise rejection; shutting down:', reason);
    stop('Fatal error', { fatal: true });
  });
  // A closed log pipe is no reason to stop deploys or dynos: lines written to it are lost, nothing more.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') stop(`Cannot write the log (${err.message})`, { fatal: true });
    });
  }
  // npm may die without passing its signal on (older npm, or a shell between them); a server it
  // started then goes with it instead of running on as an orphan with its dynos.
  if (process.env.npm_lifecycle_event) {
    const parent = process.ppid;
    setInterval(() => {
      if (process.ppid !== parent) stop('npm, which started paas, exited');
    }, PARENT_CHECK_MS).unref();
  }
}

export default function register(program: Command): void {
  program
    .command('server')
    .description('run the paas server: API, git receiver, runner and router (configured by env, see docs/server.md)')
    .option('--no-router', 'run the control plane alone; routers run with `paas router` and subscribe to its API')
    .action(async (opts: { router: boolean }) => {
      // The server is this package's own entry point; the CLI's other commands only speak HTTP to it.
      const { loadConfig, ConfigError } = await import('../../server/config.js');
      const { startServer } = await import('../../server/main.js');
      const { PaasError } = await import('../../lib/errors.js');
      let server: Awaited<ReturnType<typeof startServer>> | undefined;
      let pending: Parameters<Stop> | undefined;
      let stopping = false;
      let firstAt = 0;
      let graceMs = 10_000;
      const stop: Stop = (why, opts = {}) => {
        // Before the server is up there is nothing to drain: stop as soon as it is, or at once if fatal.
        if (!server) {
          if (opts.fatal) process.exit(1);
          return void (pending ??= [why, opts]);
        }
        const code = opts.fatal ? 1 : 0;
        if (stopping) {
          if (!opts.fatal && Date.now() - firstAt < SAME_SIGNAL_MS) return;
          // A second Ctrl-C, or a fatal error while draining: stop deploys in flight now.
          if (!opts.fatal) console.log(`${why} again: stopping deploys in flight now`);
          void server.close({ timeoutMs: 0 });
          return;
        }
        stopping = true;
        firstAt = Date.now();
        console.log(`${why}: refusing new pushes and changes, finishing deploys, stopping dynos (Ctrl-C again, a second from now or later, stops deploys in flight at once)`);
        // A fatal error leaves the server in an unknown state: no waiting for deploys, and a hard
        // deadline (two dyno grace periods and some), so it is never left half-alive.
        if (opts.fatal) setTimeout(() => process.exit(code), 2 * graceMs + 10_000).unref();
        server.close(opts.fatal ? { timeoutMs: 0 } : {}).then(
          () => process.exit(code),
          (err: unknown) => {
            console.error('paas: error while shutting down:', err);
            process.exit(1);
          },
        );
      };
      onEveryEnding(stop);
      try {
        const config = loadConfig(process.env);
        graceMs = config.stopGraceMs;
        server = await startServer(config, { router: opts.router });
      } catch (err) {
        if (err instanceof ConfigError || err instanceof PaasError) throw new CliError(err.message);
        const e = err as NodeJS.ErrnoException;
        if (e.code === 'EADDRINUSE') throw new CliError(`Port ${(e as { port?: number }).port} is in use. Stop what runs there, or set PORT / PAAS_ROUTER_PORT.`);
        throw err;
      }
      if (pending) stop(...pending);
    });
}
