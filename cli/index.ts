import { Command, CommanderError } from 'commander';
import apps from './commands/apps/index.js';
import appsCreate from './commands/apps/create.js';
import appsDestroy from './commands/apps/destroy.js';
import appsInfo from './commands/apps/info.js';
import config from './commands/config/index.js';
import configGet from './commands/config/get.js';
import configSet from './commands/config/set.js';
import configUnset from './commands/config/unset.js';
import login from './commands/login.js';
import logs from './commands/logs.js';
import releases from './commands/releases/index.js';
import releasesInfo from './commands/releases/info.js';
import releasesRollback from './commands/releases/rollback.js';
import server from './commands/server.js';
import { CliError } from './errors.js';

/** Runs the CLI; user errors print their message on stderr and set a non-zero exit code. */
export async function main(argv: string[]): Promise<void> {
  const program = new Command('paas')
    .description('paas: git push to deploy, on your own machine')
    .showHelpAfterError()
    .exitOverride();
  const commands = [server, login, apps, appsCreate, appsInfo, appsDestroy, config, configGet, configSet, configUnset, releases, releasesInfo, releasesRollback, logs];
  for (const register of commands) register(program);
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
