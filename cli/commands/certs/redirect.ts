import type { Command } from 'commander';
import { appOption } from '../../app-option.js';
import { CliError } from '../../errors.js';
import { onOff, updateTls } from './settings.js';

export default function register(program: Command): void {
  program
    .command('certs:redirect <on|off>')
    .description('answer plain-HTTP requests for the app\'s hostnames that have a certificate with a 308 to HTTPS (on by default)')
    .addOption(appOption())
    .action(async (value: string, opts: { app?: string }) => {
      const redirect = onOff(value);
      if (redirect === undefined) throw new CliError(`"${value}" is neither on nor off. Run \`paas certs:redirect on\` or \`paas certs:redirect off\`.`);
      await updateTls(opts.app, { redirect });
    });
}
