import type { Command } from 'commander';
import { api } from '../api.js';
import { apiHost, apiUrl } from '../auth.js';
import { CliError } from '../errors.js';
import { writeNetrcEntry } from '../netrc.js';
import { out } from '../output.js';
import { readSecret } from '../prompt.js';

export default function register(program: Command): void {
  program
    .command('login')
    .description('save the API token in ~/.netrc, where both paas and git push find it')
    .option('--token <token>', 'the API token (default: type it, unechoed, or pipe it to stdin)')
    .action(async (opts: { token?: string }) => {
      const token = opts.token ?? (await readSecret('API token (printed by `paas server` on first start): '));
      if (!token) throw new CliError('No token given. Pass --token TOKEN, pipe it in (`echo $TOKEN | paas login`), or type the token the server printed on first start.');
      await api('GET', '/v1/apps', undefined, token);
      writeNetrcEntry(apiHost(), 'paas', token);
      out(`Logged in to ${apiUrl()}`);
    });
}
