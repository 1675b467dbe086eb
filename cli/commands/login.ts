import readline from 'node:readline/promises';
import type { Command } from 'commander';
import { api } from '../api.js';
import { apiUrl } from '../auth.js';
import { CliError } from '../errors.js';
import { writeNetrcEntry } from '../netrc.js';
import { out } from '../output.js';

async function readToken(): Promise<string> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr, terminal: process.stdin.isTTY });
  try {
    const answer = process.stdin.isTTY ? await rl.question('API token (printed by `paas server` on first start): ') : await rl[Symbol.asyncIterator]().next().then((r) => r.value ?? '');
    return String(answer).trim();
  } finally {
    rl.close();
  }
}

export default function register(program: Command): void {
  program
    .command('login')
    .description('save the API token in ~/.netrc, where both paas and git push find it')
    .option('--token <token>', 'the API token (default: read it from stdin)')
    .action(async (opts: { token?: string }) => {
      const token = opts.token ?? (await readToken());
      if (!token) throw new CliError('No token given. Pass --token TOKEN, or type the token the server printed on first start.');
      await api('GET', '/v1/apps', undefined, token);
      writeNetrcEntry(new URL(apiUrl()).hostname, 'paas', token);
      out(`Logged in to ${apiUrl()}`);
    });
}
