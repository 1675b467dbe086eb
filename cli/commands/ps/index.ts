import type { Command } from 'commander';
import { api } from '../../api.js';
import { appOption, resolveApp } from '../../app-option.js';
import { json, out } from '../../output.js';
import type { Dyno } from '../../types.js';

export default function register(program: Command): void {
  program
    .command('ps')
    .description("list an app's dynos: one row each, grouped by process type")
    .addOption(appOption())
    .option('--json', 'output as JSON')
    .action(async (opts: { app?: string; json?: boolean }) => {
      const app = await resolveApp(opts.app);
      const dynos = await api<Dyno[]>('GET', `/v1/apps/${encodeURIComponent(app)}/dynos`);
      if (opts.json) return json(dynos);
      if (dynos.length === 0) return out(`${app} has no dynos. Push code, or scale a process type with \`paas ps:scale web=1\`.`);
      const types = [...new Set(dynos.map((d) => d.type))];
      for (const type of types) {
        const ofType = dynos.filter((d) => d.type === type);
        // One-off dynos (paas run) each run a command of their own.
        const oneOff = type === 'run';
        out(`=== ${type} (${ofType.length})${oneOff ? '' : `: ${ofType[0].command}`}`);
        for (const d of ofType) {
          const restarts = d.restarts ? `, ${d.restarts} restart${d.restarts === 1 ? '' : 's'}` : '';
          out(`${d.name}: ${d.state} ${d.started_at} (v${d.release}${restarts})${oneOff ? `: ${d.command}` : ''}`);
        }
        out('');
      }
    });
}
