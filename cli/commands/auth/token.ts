import type { Command } from 'commander';
import { requireToken } from '../../auth.js';
import { out } from '../../output.js';

export default function register(program: Command): void {
  program
    .command('auth:token')
    .description("print the API token this CLI uses (PAAS_API_TOKEN, ~/.netrc or the local server's), e.g. to sign in to the dashboard")
    .action(() => {
      // The token alone on stdout, so `paas auth:token | xclip` copies exactly it.
      out(requireToken());
    });
}
