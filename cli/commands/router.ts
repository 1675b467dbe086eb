import type { Command } from 'commander';
import { CliError } from '../errors.js';

export default function register(program: Command): void {
  program
    .command('router')
    .description("run the router on its own, fed by a paas API's route stream (PAAS_API_URL, PAAS_API_TOKEN; see docs/router.md)")
    .action(async () => {
      // Like `paas server`, this runs the package's own code; other commands only speak HTTP.
      const { loadRouterConfig, RouterConfigError } = await import('../../router/config.js');
      const { startFleet } = await import('../../router/fleet.js');
      const { bannerUrl } = await import('../../server/http/listen.js');
      const { localServerToken } = await import('../local-server.js');
      let config;
      try {
        config = loadRouterConfig(process.env, localServerToken);
      } catch (err) {
        if (err instanceof RouterConfigError) throw new CliError(err.message);
        throw err;
      }
      let fleet: Awaited<ReturnType<typeof startFleet>>['fleet'] | undefined;
      let stopRequested: string | undefined;
      const stop = (why: string) => {
        if (!fleet) return void (stopRequested ??= why);
        const stopping = fleet;
        fleet = undefined;
        console.log(`${why}: the router stops taking connections and finishes the requests in flight`);
        stopping.stop().then(
          () => process.exit(0),
          (err: unknown) => {
            console.error('paas router: error while stopping:', err);
            process.exit(1);
          },
        );
      };
      // Installed before start-up, so a signal then is not lost.
      for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => stop(`${signal} received`));
      let address, tlsAddress;
      try {
        ({ fleet, address, tlsAddress } = await startFleet(config));
      } catch (err) {
        const e = err as NodeJS.ErrnoException & { port?: number };
        if (e.code === 'EADDRINUSE') throw new CliError(`Port ${e.port ?? config.port} is in use. Stop what runs there, or set PAAS_ROUTER_PORT / PAAS_ROUTER_TLS_PORT.`);
        throw err;
      }
      const { port } = address;
      const workers = `${config.workers} worker${config.workers === 1 ? '' : 's'}`;
      console.log(`paas router listening on ${bannerUrl(address)} (${workers}, apps at http://<app>.${config.domain ?? '<PAAS_DOMAIN of the API>'}:${port})`);
      console.log(`paas router listening on ${bannerUrl(tlsAddress, 'https')} (TLS)`);
      console.log(`paas router: routes from ${config.apiUrl}`);
      if (stopRequested) stop(stopRequested);
    });
}
