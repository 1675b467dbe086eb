import type { Command } from 'commander';
import { CliError } from '../errors.js';

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
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        console.log(`${signal} received: finishing deploys, stopping dynos`);
        server.close().then(() => process.exit(0), (err) => {
          console.error(err);
          process.exit(1);
        });
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    });
}
