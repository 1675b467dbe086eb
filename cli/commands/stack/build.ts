import type { Command } from 'commander';
import { CliError } from '../../errors.js';

export default function register(program: Command): void {
  program
    .command('stack:build')
    .description('build the Docker stack image builds and dynos start from, and the add-on images (on this host, as root; once, or again with --force)')
    .option('--force', 'rebuild even when the image of the current recipe exists')
    .action(async (opts: { force?: boolean }) => {
      // Like `paas server`, an operator command: it runs here and talks to the engine at DOCKER_HOST.
      const { loadConfig, ConfigError } = await import('../../../server/config.js');
      const { BuildError } = await import('../../../builder/errors.js');
      const { buildStack } = await import('../../../builder/docker/stack.js');
      const { connectDocker } = await import('../../../server/docker/engine.js');
      const { buildAddonImages } = await import('../../../server/addons/docker/images.js');
      try {
        const { docker: settings } = loadConfig(process.env);
        const docker = await connectDocker();
        const stack = await buildStack(docker, { image: settings.stackImage, caFile: settings.buildCaFile, force: opts.force, log: (line) => process.stderr.write(`${line}\n`) });
        if (!stack.built) process.stderr.write(`-----> ${stack.image} is up to date (Node.js ${stack.node}, npm ${stack.npm}); --force rebuilds it\n`);
        process.stdout.write(`${stack.image} ${stack.id}\n`);
        // The PostgreSQL and Redis add-on images start from the stack: made now, the first
        // addons:create need not wait for them.
        const log = (line: string) => process.stderr.write(`${line}\n`);
        for (const addon of await buildAddonImages(docker, { stackImage: settings.stackImage, caFile: settings.buildCaFile, force: opts.force, log })) {
          if (!addon.built) log(`-----> ${addon.image} is up to date`);
          process.stdout.write(`${addon.image} ${addon.id}\n`);
        }
      } catch (err) {
        if (err instanceof ConfigError || err instanceof BuildError) throw new CliError(err.message);
        throw err;
      }
    });
}
