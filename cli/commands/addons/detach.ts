import type { Command } from 'commander';
import { apiWithHeaders } from '../../api.js';
import { appOption, resolveApp } from '../../app-option.js';
import { out, progress } from '../../output.js';
import { waitForAttachment } from '../../release-wait.js';
import type { Addon } from '../../types.js';

export default function register(program: Command): void {
  program
    .command('addons:detach <addon>')
    .description("detach an add-on from the app: its var leaves the app's config in a new release; the add-on and its data stay")
    .addOption(appOption())
    .action(async (name: string, opts: { app?: string }) => {
      const app = await resolveApp(opts.app);
      progress(`Detaching ${name} from ${app} and restarting it...\n`);
      const { body: addon, headers } = await apiWithHeaders<Addon>('DELETE', `/v1/addons/${encodeURIComponent(name)}/attachments/${encodeURIComponent(app)}`);
      const release = await waitForAttachment(app, headers);
      out(`Detached ${addon.name} from ${app}${release ? ` (v${release.version})` : ''}; its data stays (paas addons:destroy ${addon.name} --confirm ${addon.name} removes it)`);
    });
}
