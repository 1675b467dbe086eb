import type { Command } from 'commander';
import { api } from '../../api.js';
import { CliError } from '../../errors.js';
import { appOption, resolveApp } from '../../app-option.js';
import { json, out, progress } from '../../output.js';
import type { FormationEntry } from '../../types.js';

/** `web=3`, `web+1`, `web-1` → an API update. */
function parseUpdate(arg: string): { type: string; quantity: string } {
  // Type names as a Procfile allows them; the server says which the app has.
  const m = /^([A-Za-z0-9_]+(?:-[A-Za-z0-9_]+)*?)(=|\+|-)(\d+)$/.exec(arg);
  if (!m) throw new CliError(`${JSON.stringify(arg)} is not TYPE=N, TYPE+N or TYPE-N. Example: paas ps:scale web=2 worker=1`);
  return { type: m[1], quantity: m[2] === '=' ? m[3] : `${m[2]}${m[3]}` };
}

const formatted = (formation: FormationEntry[]) => formation.map((f) => `${f.type}=${f.quantity}`).join(' ');

export default function register(program: Command): void {
  program
    .command('ps:scale [changes...]')
    .description('scale process types (web=3 worker=2, web+1, web-1); with no argument, print the formation')
    .addOption(appOption())
    .option('--json', 'output as JSON')
    .action(async (changes: string[], opts: { app?: string; json?: boolean }) => {
      const updates = changes.map(parseUpdate);
      const app = await resolveApp(opts.app);
      const path = `/v1/apps/${encodeURIComponent(app)}/formation`;
      if (updates.length === 0) {
        const formation = await api<FormationEntry[]>('GET', path);
        if (opts.json) return json(formation);
        return out(formation.length ? formatted(formation) : `${app} has no process types yet: push code first.`);
      }
      progress(`Scaling dynos of ${app}...\n`);
      const formation = await api<FormationEntry[]>('PATCH', path, { updates });
      if (opts.json) return json(formation);
      out(`Now running ${formatted(formation)}`);
    });
}
