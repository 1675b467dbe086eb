import fs from 'node:fs';
import { Command, CommanderError } from 'commander';
import addons from './commands/addons/index.js';
import addonsAttach from './commands/addons/attach.js';
import addonsCreate from './commands/addons/create.js';
import addonsDestroy from './commands/addons/destroy.js';
import addonsDetach from './commands/addons/detach.js';
import addonsInfo from './commands/addons/info.js';
import apps from './commands/apps/index.js';
import appsCreate from './commands/apps/create.js';
import appsDestroy from './commands/apps/destroy.js';
import appsInfo from './commands/apps/info.js';
import config from './commands/config/index.js';
import configGet from './commands/config/get.js';
import configSet from './commands/config/set.js';
import configUnset from './commands/config/unset.js';
import certs from './commands/certs/index.js';
import certsAdd from './commands/certs/add.js';
import certsAutoDisable from './commands/certs/auto-disable.js';
import certsAutoEnable from './commands/certs/auto-enable.js';
import certsHsts from './commands/certs/hsts.js';
import certsRedirect from './commands/certs/redirect.js';
import certsRemove from './commands/certs/remove.js';
import domains from './commands/domains/index.js';
import domainsAdd from './commands/domains/add.js';
import domainsRemove from './commands/domains/remove.js';
import drains from './commands/drains/index.js';
import drainsAdd from './commands/drains/add.js';
import drainsRemove from './commands/drains/remove.js';
import gitCredentials from './commands/git/credentials.js';
import gitRemote from './commands/git/remote.js';
import login from './commands/login.js';
import authToken from './commands/auth/token.js';
import logs from './commands/logs.js';
import releases from './commands/releases/index.js';
import releasesInfo from './commands/releases/info.js';
import releasesRollback from './commands/releases/rollback.js';
import releasesOutput from './commands/releases/output.js';
import builds from './commands/builds/index.js';
import buildsOutput from './commands/builds/output.js';
import maintenance from './commands/maintenance/index.js';
import maintenanceOff from './commands/maintenance/off.js';
import maintenanceOn from './commands/maintenance/on.js';
import pgBackups from './commands/pg/backups.js';
import pgCapture from './commands/pg/capture.js';
import pgRestore from './commands/pg/restore.js';
import ps from './commands/ps/index.js';
import psRestart from './commands/ps/restart.js';
import psScale from './commands/ps/scale.js';
import psStop from './commands/ps/stop.js';
import router from './commands/router.js';
import run from './commands/run.js';
import server from './commands/server.js';
import stackBuild from './commands/stack/build.js';
import status from './commands/status.js';
import gc from './commands/gc.js';
import { CliError } from './errors.js';

// A reader that stops early (`paas apps | head -1`) closes the pipe under us: the rest of our output
// has nowhere to go and nobody wants it, so stop quietly and successfully, as a Unix tool does,
// rather than die on an unhandled EPIPE with a stack trace (a command that already failed keeps
// its exit code). Any other write error is reported.
function onOutputError(err: NodeJS.ErrnoException): void {
  if (err.code === 'EPIPE') process.exit();
  process.stderr.write(` !    Could not write output: ${err.message}\n`);
  process.exit(1);
}

/** `paas --version`: this paas, and the Node and platform it runs on, as Heroku's CLI prints it. */
function versionLine(): string {
  const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return `paas/${pkg.version} node-${process.version} ${process.platform}-${process.arch}`;
}

/** Runs the CLI; user errors print their message on stderr and set a non-zero exit code. */
export async function main(argv: string[]): Promise<void> {
  const program = new Command('paas')
    .description('paas: git push to deploy, on your own machine')
    .version(versionLine(), '-v, --version', 'print the version of paas')
    // One error style: commander's own ("unknown option", "missing argument") as paas's ( !    …).
    .configureOutput({ outputError: (text, write) => write(` !    ${text.replace(/^error: (.)/, (_m, c: string) => c.toUpperCase())}`) })
    .showHelpAfterError('(run `paas --help` for the list of commands)')
    .exitOverride()
    // `paas run` passes every option after its command on to the command.
    .enablePositionalOptions()
    .hook('preAction', (_program, command) => {
      // The server is no pipeline tool: its stdout is its log, and it must not exit without
      // stopping its dynos; what a closed log pipe does to it is the server's own business.
      if (command.name() === 'server' || command.name() === 'router') for (const stream of [process.stdout, process.stderr]) stream.off('error', onOutputError);
    });
  for (const stream of [process.stdout, process.stderr]) stream.on('error', onOutputError);
  const commands = [server, router, stackBuild, login, authToken, apps, appsCreate, appsInfo, appsDestroy, config, configGet, configSet, configUnset, releases, releasesInfo, releasesRollback, releasesOutput, builds, buildsOutput, ps, psScale, psRestart, psStop, run, domains, domainsAdd, domainsRemove, certs, certsAdd, certsRemove, certsAutoEnable, certsAutoDisable, certsRedirect, certsHsts, drains, drainsAdd, drainsRemove, addons, addonsCreate, addonsInfo, addonsAttach, addonsDetach, addonsDestroy, pgBackups, pgCapture, pgRestore, maintenance, maintenanceOn, maintenanceOff, logs, gitRemote, gitCredentials, status, gc];
  for (const register of commands) register(program);
  // `paas` alone asks what there is: the help, on stdout, and success (as `heroku` does).
  if (argv.length <= 2) {
    program.outputHelp();
    return;
  }
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
