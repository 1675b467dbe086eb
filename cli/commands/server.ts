import type { Command } from 'commander';
import { CliError } from '../errors.js';

/** How often a server started by npm checks that npm is still there. */
const PARENT_CHECK_MS = 1000;

export default function register(program: Command): void {
  program
    .command('server')
    .description('run the paas server: API, git receiver, runner and router (configured by env, see README)')
    .action(async () => {
      // The server is this package's own entry point; the CLI's other commands only speak HTTP to it.
      const { loadConfig, ConfigError } = await import('../../server/config.js');
      const { startServer } = await import('../../server/main.js');
      const { PaasError } = await import('../../server/errors.js');
      let server;
      try {
        server = await startServer(loadConfig(process.env));
      } catch (err) {
        if (err instanceof ConfigError || err instanceof PaasError) throw new CliError(err.message);
        const e = err as NodeJS.ErrnoException;
        if (e.code === 'EADDRINUSE') throw new CliError(`Port ${(e as { port?: number }).port} is in use. Stop what runs there, or set PORT / PAAS_ROUTER_PORT.`);
        throw err;
      }
      const running = server;
      let stopping = false;
      // One rule for every way the server is told to go: drain, stop the dynos, exit.
      const stop = (why: string, opts: { fatal?: boolean } = {}) => {
        if (stopping) return;
        stopping = true;
        console.log(`${why}: refusing new requests, finishing deploys, stopping dynos`);
        const code = opts.fatal ? 1 : 0;
        // A fatal error leaves the server in an unknown state: no waiting for deploys, and a hard
        // deadline, so it is never left half-alive.
        if (opts.fatal) setTimeout(() => process.exit(code), 15_000).unref();
        running.close(opts.fatal ? { timeoutMs: 0 } : {}).then(
          () => process.exit(code),
          (err: unknown) => {
            console.error('paas: error while shutting down:', err);
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', () => stop('SIGTERM received'));
      process.on('SIGINT', () => stop('SIGINT received'));
      process.on('uncaughtException', (err, origin) => {
        console.error(`paas: fatal uncaught exception (${origin}); shutting down:`, err);
        stop('Fatal error', { fatal: true });
      });
      process.on('unhandledRejection', (reason) => {
        console.error('paas: fatal unhandled promise rejection; shutting down:', reason);
        stop('Fatal error', { fatal: true });
      });
      // npm may die without passing its signal on (older npm, or a shell between them); a server it
      // started then goes with it instead of running on as an orphan with its dynos.
      if (process.env.npm_lifecycle_event) {
        const parent = process.ppid;
        setInterval(() => {
          if (process.ppid !== parent) stop('npm, which started paas, exited');
        }, PARENT_CHECK_MS).unref();
      }
    });
}
