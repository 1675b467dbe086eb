import type { Command } from 'commander';
import { apiUrl, findToken } from '../../auth.js';
import { out } from '../../output.js';

// The request git writes on our stdin: `key=value` lines, ended by a blank line or EOF.
async function readRequest(): Promise<Map<string, string>> {
  let text = '';
  for await (const chunk of process.stdin) {
    text += String(chunk);
    if (/^\n|\n\n/.test(text)) break;
  }
  const request = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (!line) break;
    const eq = line.indexOf('=');
    if (eq > 0) request.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return request;
}

export default function register(program: Command): void {
  program
    .command('git:credentials <action>')
    .description('git credential helper: gives git the API token for the paas host (apps:create and git:remote set it up)')
    .option('--api-url <url>', 'the paas API this helper answers for (default: PAAS_API_URL)')
    .action(async (action: string, opts: { apiUrl?: string }) => {
      // The URL that apps:create saw wins over the environment git happens to run in.
      if (opts.apiUrl) process.env.PAAS_API_URL = opts.apiUrl;
      const request = await readRequest();
      // `store` and `erase`: the token has its own home (env, ~/.netrc, the server's data dir), and a
      // token git saw refused is the user's to fix with `paas login`, not ours to forget.
      if (action !== 'get') return;
      const api = new URL(apiUrl());
      // Only for the paas API itself, even if someone sets this helper up for every host.
      if (request.get('protocol') !== api.protocol.slice(0, -1) || request.get('host') !== api.host) return;
      const token = findToken();
      if (token) return out(`username=paas\npassword=${token}`);
      process.stderr.write(`paas: not logged in to ${apiUrl()}; run \`paas login\` (the user who runs \`paas server\` here needs none)\n`);
    });
}
