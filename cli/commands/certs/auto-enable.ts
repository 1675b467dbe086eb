import type { Command } from 'commander';
import { appOption } from '../../app-option.js';
import { updateTls } from './settings.js';

export default function register(program: Command): void {
  program
    .command('certs:auto:enable')
    .description("get certificates for the app's custom domains from the ACME CA (Let's Encrypt by default) and renew them on their own")
    .addOption(appOption())
    .action(async (opts: { app?: string }) => updateTls(opts.app, { auto: true }));
}
