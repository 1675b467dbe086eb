import { Command, CommanderError } from 'commander';
import apps from './commands/apps/index.js';
import appsCreate from './commands/apps/create.js';
import appsDestroy from './commands/apps/destroy.js';
import appsInfo from './commands/apps/info.js';
import login from './commands/login.js';
import logs from './commands/logs.js';
import server from './commands/server.js';
import { CliError } from './errors.js';

/** Runs the CLI; user errors print their message on stderr and set a non-zero exit code. */
export async function main(argv: string[]): Promise<void> {
  const program = new Command('paas')
    .description('paas: git push to deploy, on your own machine')
    .showHelpAfterError()
    .exitOverride();
  for (const register of [server, login, apps, appsCreate, appsInfo, appsDestroy, logs]) register(program);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode;
      return;
    }
    if (err instanceof CliError) {
      process.stderr.write(` !    ${err.message}\n`);
      process.exitCode = 1;
      return;
    }
    throw err;
  }
}
