import type { Command } from 'commander';
import { appOption } from '../../app-option.js';
import { CliError } from '../../errors.js';
import { onOff, updateTls } from './settings.js';

/** A year: what browsers' preload lists ask for. */
const DEFAULT_MAX_AGE = 31_536_000;

export default function register(program: Command): void {
  program
    .command('certs:hsts <on|off>')
    .description('add Strict-Transport-Security to the app\'s HTTPS answers (off by default): browsers then refuse plain HTTP for max-age seconds')
    .option('--max-age <seconds>', `how long browsers remember it (default ${DEFAULT_MAX_AGE}, a year)`)
    .addOption(appOption())
    .action(async (value: string, opts: { app?: string; maxAge?: string }) => {
      const on = onOff(value);
      if (on === undefined) throw new CliError(`"${value}" is neither on nor off. Run \`paas certs:hsts on [--max-age SECONDS]\` or \`paas certs:hsts off\`.`);
      const maxAge = opts.maxAge === undefined ? DEFAULT_MAX_AGE : Number(opts.maxAge);
      if (!Number.isInteger(maxAge) || maxAge < 1) throw new CliError(`--max-age ${opts.maxAge} is not a whole number of seconds. Use for example 31536000 (a year).`);
      await updateTls(opts.app, { hsts_max_age: on ? maxAge : 0 });
    });
}
