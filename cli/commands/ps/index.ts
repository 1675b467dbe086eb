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
      if (dynos.length === 0) {
        // Name a type the app has: \`web=1\` fails for a worker-only app.
        const formation = await api<{ type: string }[]>('GET', `/v1/apps/${encodeURIComponent(app)}/formation`);
        const type = formation.find((f) => f.type === 'web')?.type ?? formation[0]?.type;
        return out(type ? `${app} has no dynos. Scale one up with \`paas ps:scale ${type}=1 -a ${app}\`.` : `${app} has no dynos: it has no release yet. Deploy it with \`git push paas main\`.`);
      }
      const types = [...new Set(dynos.map((d) => d.type))];
      for (const type of types) {
        const ofType = dynos.filter((d) => d.type === type);
        // One-off dynos (paas run) each run a command of their own.
        const oneOff = type === 'run';
        const standing = ofType.filter((d) => d.state === 'standby').length;
        out(`=== ${type} (${ofType.length - standing}${standing ? `, ${standing} standing by` : ''})${oneOff ? '' : `: ${ofType[0].command}`}`);
        for (const d of ofType) {
          const restarts = d.restarts ? `, ${d.restarts} restart${d.restarts === 1 ? '' : 's'}` : '';
          const standby = d.state === 'standby' ? ': out of the routes, serves again should the new release\'s dynos die in its settle window' : '';
          out(`${d.name}: ${d.state} ${d.started_at} (v${d.release}${restarts})${oneOff ? `: ${d.command}` : standby}`);
        }
        out('');
      }
    });
}
