import type { Command } from 'commander';
import { appOption } from '../../app-option.js';
import { updateTls } from './settings.js';

export default function register(program: Command): void {
  program
    .command('certs:auto:disable')
    .description('stop ordering and renewing certificates for the app (one already issued is served until it expires or is removed)')
    .addOption(appOption())
    .action(async (opts: { app?: string }) => updateTls(opts.app, { auto: false }));
}
