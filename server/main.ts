import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import { RouterFleet } from '../router/fleet.js';
import { installNode } from '../builder/node-versions.js';
import { ensureTools } from '../builder/tools.js';
import { createApiServer } from './http/api-server.js';
import type { Config } from './config.js';
import type { ApiDeps } from './http/deps.js';
import { installHooks } from './git/pre-receive.js';
import { gitRoutes } from './git/receiver.js';
import { bannerUrl, listen, localUrl, recordApiUrl } from './http/listen.js';
import { Lifecycle } from './control/lifecycle.js';
import { AppLocks } from './control/locks.js';
import { AppLogs } from './logs/pipeline.js';
import { Drains } from './drains/manager.js';
import { dataPaths } from './store/paths.js';
import { refuseStrandedData } from './store/legacy-data.js';
import { Routes } from './dynos/routes.js';
import { routeState } from './control/domains.js';
import { RouteStream } from './http/route-stream.js';
import { LogTails } from './http/log-tail.js';
import { EventStream } from './http/events.js';
import { AppEvents } from './control/app-events.js';
import { Reconciler } from './dynos/reconciler.js';
import { OneOffs } from './control/one-offs.js';
import { ReleaseOutputs } from './control/release-output.js';
import { Notices } from './control/notices.js';
import { restoreCurrentRelease } from './control/releases.js';
import { instanceId } from './docker/engine.js';
import { guardHost } from './docker/host-guard.js';
import { BuildCgroups } from './docker/build-cgroup.js';
import { DockerNetworks } from './docker/networks.js';
import { DockerRuntime } from './runtime/docker/runtime.js';
import { ProcessRuntime } from './runtime/process/runtime.js';
import { chooseRuntime, recordedRuntime, recordRuntime } from './runtime/select.js';
import type { Runtime } from './runtime/types.js';
import { SlugDirBuilder } from './slug-builder/directory.js';
import { SlugImageBuilder } from './slug-builder/image.js';
import type { SlugBuilder } from './slug-builder/types.js';
import { closeInheritedFds } from './sandbox/fds.js';
import { detectSandbox, exposedFilesWarning } from './sandbox/host.js';
import { hostRegistryEnv, writeHostRegistry } from './slug-builder/registry.js';
import { probeOverlay } from './sandbox/spawn.js';
import { setUpLimits } from './sandbox/cgroups.js';
import { adoptSlugs, clearScratch, prepareDataDir } from './sandbox/data-dir.js';
import { assignMissingUids, listApps } from './store/apps.js';
import { openStore } from './store/db.js';
import { takeStaleDynos } from './store/dynos.js';
import { takeLeftovers } from './dynos/leftovers.js';
import { failAbandoned } from './store/releases.js';
import { handOutNewUrl, reportSquat, restoreAddons } from './control/addons.js';
import { addonServices, closeAddons } from './addons/services.js';
import type { SquatReport } from './addons/types.js';
import { resolveApiToken } from './http/token.js';
import { apiAuthority } from './http/auth.js';
import { requireApp } from './control/queries.js';
import { startAppNetworks } from './netns/setup.js';
import { startGcTimer } from './control/gc.js';
import { restoreTls } from './control/certs.js';
import { AcmeOrders } from './control/acme-orders.js';
import { AcmeIssuer } from './tls/acme.js';

export interface RunningServer {
  apiUrl: string;
  /** The embedded router's URL; undefined with `router: false` (`paas server --no-router`). */
  routerUrl: string | undefined;
  /**
   * Refuses new requests and pushes, gives deploys in flight PAAS_SHUTDOWN_TIMEOUT_MS to finish (then
   * stops them, marked failed), stops the dynos with their grace period and closes the store.
   */
  close(opts?: { timeoutMs?: number }): Promise<void>;
}

export interface ServerOptions {
  log?: (line: string) => void;
  /** False: the control plane alone, for routers run with `paas router` (`paas server --no-router`). */
  router?: boolean;
}

/**
 * Starts the control plane (API + git) and, unless told otherwise, the embedded router: worker
 * processes fed by this API's own route stream, like any standalone router.
 */
export async function startServer(config: Config, opts: ServerOptions = {}): Promise<RunningServer> {
  const log = opts.log ?? console.log;
  // Everything paas writes is its own unless made otherwise on purpose; app processes inherit it too.
  process.umask(0o077);
  closeInheritedFds();
  const paths = dataPaths(config.dataDir);
  refuseStrandedData(config, paths);
  let sandbox = detectSandbox();
  // The operator's own npmrc for builds is hidden from every sandbox too, wherever it is.
  sandbox = { ...sandbox, hiddenFiles: [...new Set([...sandbox.hiddenFiles, ...config.buildRegistry.sources])] };
  fs.mkdirSync(paths.root, { recursive: true, mode: 0o700 });
  // Before anything else is created: a refused store must find the data dir exactly as it was.
  const db = openStore(paths.db, [paths.repos, paths.slugs, paths.cache]);
  // The router's workers boot while the rest starts up; they get their configuration once the API
  // listens. Should start-up fail before then, they go with this process (their IPC channel closes).
  const fleet = opts.router === false ? undefined : new RouterFleet(config.routerWorkers, log);
  const dataDirWarnings = await prepareDataDir(paths, sandbox);
  sandbox = await probeOverlay(sandbox, paths.scratch);
  writeHostRegistry(config.buildRegistry, paths.registry);
  const { ignored } = config.buildRegistry;
  const registryWarnings = ignored.length ? [`PAAS_BUILD_NPMRC sets ${ignored.join(', ')}, which builds do not get: only registry, credential, TLS and proxy settings reach them.`] : [];
  for (const warning of [...sandbox.warnings, ...dataDirWarnings, ...registryWarnings, exposedFilesWarning(sandbox) ?? []].flat()) log(`warning: ${warning}`);
  const token = resolveApiToken(config.apiToken, paths.token, (t) =>
    log(`Generated an API token (kept in ${paths.token}); this user's paas CLI and git use it from there, other users log in with: paas login --token ${t}`),
  );
  config = { ...config, apiToken: token };
  installHooks(paths.hooks);
  await adoptSlugs(db, sandbox, assignMissingUids(db, config.appUids));

  const routes = new Routes();
  const logs = new AppLogs({ dir: paths.logs, limit: config.logHistory });
  const chosen = await chooseRuntime(config, recordedRuntime(paths.root));
  recordRuntime(paths.root, chosen.name);
  log(chosen.reason);
  const docker = chosen.docker ? { engine: chosen.docker, instance: instanceId(paths.root) } : undefined;
  const limits = await setUpLimits(instanceId(paths.root), sandbox, !docker);
  for (const warning of limits.warnings) log(`warning: ${warning}`);
  // A Node or package manager emptied from the data dir since the build is installed again with the
  // operator's registry settings; the process runtime gets the builder's installers from here.
  const npmEnv = hostRegistryEnv(config.buildRegistry, paths.registry);
  // On the process runtime as root, each app and add-on server gets a network of its own (netns/);
  // on Docker, each app a labelled network of its own (docker/networks.ts).
  const net = docker ? {} : await startAppNetworks({ config: config.appNetworks, sandbox, db, instance: instanceId(paths.root), log });
  if (net.warning) log(`warning: ${net.warning}`);
  const { networks } = net;
  const dockerNetworks = docker && new DockerNetworks({ docker: docker.engine, instance: docker.instance, prefix: config.docker.network });
  if (dockerNetworks) {
    const warning = await guardHost(dockerNetworks.bridgePrefix, docker.instance);
    if (warning) log(`warning: ${warning}`);
  }
  const runtime: Runtime = docker && dockerNetworks
    ? new DockerRuntime({ docker: docker.engine, instance: docker.instance, networks: dockerNetworks, limits: config.limits.dyno, bindAddress: config.docker.bindAddress })
    : new ProcessRuntime({ sandbox, scratchRoot: paths.scratch, networks, cgroups: limits.cgroups, installNode: (version, log) => installNode(version, paths.node, log, npmEnv), ensureTools: (tools, log) => ensureTools(tools, paths.tools, log, npmEnv).then(() => paths.tools) });
  // Slugs as that runtime runs them: directories built in the sandbox, or images.
  const builder: SlugBuilder = docker
    ? new SlugImageBuilder({ docker, paths, stackImage: config.docker.stackImage, caFile: config.docker.buildCaFile, registry: config.buildRegistry, limits: config.limits.build, cgroups: new BuildCgroups(docker.engine, (line) => log(`warning: ${line}`)) })
    : new SlugDirBuilder({ sandbox, paths, appEnv: config.appEnv, registry: config.buildRegistry, networks, limits: { ...config.limits.build, cgroups: limits.cgroups } });
  const leftover = await takeLeftovers(runtime, takeStaleDynos(db), config.stopGraceMs, log);
  const abandoned = failAbandoned(db);
  if (abandoned.builds || abandoned.releases) {
    log(`Marked ${abandoned.builds} build(s) and ${abandoned.releases} release(s) failed that a previous paas server left unfinished`);
  }
  await clearScratch(paths);
  // Seeded before the API listens, so a router's first snapshot has every app. On a persistent
  // runtime the dynos outlive us: routers that still route an app keep its dynos until they are
  // found again. On the process runtime they died with the last server, and another app's new dyno
  // may get their port: no old target is kept.
  const apps = listApps(db);
  for (const app of apps) routes.addApp(app.name, { ...routeState(db, app), restoring: runtime.persistent });
  // Each app's redirect and HSTS, and the certificates from the data dir: routers serve HTTPS from their first snapshot.
  restoreTls({ db, config, paths, routes }, apps, log);
  // Every drain delivers from start-up on, before any dyno is back, so none of their lines is missed.
  const drains = new Drains({ db, logs, log });
  drains.startAll();
  const routeStream = new RouteStream({ routes, token, domain: config.domain, logs, log });
  const runner = new Reconciler({
    runtime,
    db,
    routes,
    logs,
    bootTimeoutMs: config.bootTimeoutMs,
    stopGraceMs: config.stopGraceMs,
    settleMs: config.settleMs,
    baseEnv: config.appEnv,
    dynoLimits: config.limits.dyno,
    drain: (target, timeoutMs) => routeStream.drain(target, timeoutMs),
  });
  // A squatted add-on's report and new URL go through the control plane (deps, made just below).
  const squats = {
    squatted: (report: SquatReport) => reportSquat(report, deps),
    rotated: (name: string) => void handOutNewUrl(name, deps).catch((err: Error) => log(`Could not give the apps of add-on ${name} its new URL: ${err.message}`)),
  };
  const addons = addonServices({ config, docker, dockerNetworks, db, paths, sandbox, networks, log, squats });
  let routerPort = config.routerPort;
  const lifecycle = new Lifecycle();
  const certOrders = new AcmeOrders(() => deps, log);
  const events = new AppEvents(logs);
  const deps: ApiDeps = {
    lifecycle,
    events,
    config,
    paths,
    db,
    routes,
    runner,
    runs: new OneOffs(),
    addons,
    logs,
    drains,
    locks: new AppLocks(),
    builder,
    outputs: new ReleaseOutputs(),
    notices: new Notices(),
    issuer: new AcmeIssuer(config.tls, paths.acme, (challenges) => routes.setChallenges(challenges)),
    certOrders,
    webUrl: (app) => `http://${app}.${config.domain}${routerPort === 80 ? '' : `:${routerPort}`}`,
  };

  const authority = apiAuthority(deps);
  const tails = new LogTails({ logs, authority, requireApp: (name) => requireApp(deps, name).name });
  const eventStream = new EventStream({ events, authority });
  const apiServer = createApiServer(deps, { authority, git: gitRoutes(deps), routeStream, tails, events: eventStream });
  const apiBound = await listen(apiServer, config.port, config.host);
  const apiLocalUrl = localUrl(apiBound);
  recordApiUrl(paths.apiUrl, apiLocalUrl);
  log(`paas data dir: ${paths.root}`);
  log(`paas API and git listening on ${bannerUrl(apiBound)}`);
  let routerBound: AddressInfo | undefined;
  let routerTlsBound: AddressInfo | undefined;
  if (!fleet) {
    log(`paas router: not started (--no-router); run \`paas router\` with PAAS_API_URL=${apiLocalUrl} to serve apps`);
  } else {
    // The embedded router is a router like any other: its workers subscribe to this API's route
    // stream over loopback, so a busy control plane never stalls proxying. Their table arrives just
    // after; until then they answer 503.
    try {
      const bound = await fleet.start({ apiUrl: apiLocalUrl, token, port: config.routerPort, tlsPort: config.routerTlsPort, host: config.host, domain: undefined, timeoutMs: config.routerTimeoutMs, trustedProxies: config.trustedProxies });
      routerBound = bound.address;
      routerTlsBound = bound.tlsAddress;
    } catch (err) {
      await new Promise((r) => apiServer.close(r));
      throw err;
    }
    routerPort = routerBound.port;
    log(`paas router listening on ${bannerUrl(routerBound)} (${config.routerWorkers} worker${config.routerWorkers === 1 ? '' : 's'}, apps at http://<app>.${config.domain}:${routerPort})`);
    log(`paas router listening on ${bannerUrl(routerTlsBound, 'https')} (TLS)`);
  }

  // Before any app comes back: apps need their database.
  await restoreAddons(deps, log);
  // Networks of apps destroyed while no server ran, now that no add-on is left on them.
  await dockerNetworks?.prune(new Set(apps.map((a) => a.name))).catch((err: Error) => log(`Could not remove the networks of destroyed apps: ${err.message}`));
  for (const app of apps) {
    restoreCurrentRelease(app, deps, leftover.get(app.id))
      .catch((err: Error) => log(`Could not restart ${app.name}: ${err.message}`))
      .finally(() => routes.settle(app.name));
  }
  startGcTimer(deps, log);
  // Once the embedded routers listen: an order's challenges need them. Renewals due while no server ran come first.
  certOrders.start();
  let closing: Promise<void> | undefined;
  return {
    apiUrl: apiLocalUrl,
    routerUrl: routerBound && localUrl(routerBound),
    close(opts = {}) {
      // One shutdown at a time: a second call (a second Ctrl-C) only hurries the one under way.
      if (closing) {
        if (opts.timeoutMs === 0) lifecycle.stopWork();
        return closing;
      }
      closing = shutDown(opts.timeoutMs ?? config.shutdownTimeoutMs);
      return closing;
    },
  };

  async function shutDown(timeoutMs: number): Promise<void> {
    // 1. New requests and pushes are refused (with a message, so the listeners stay open);
    //    deploys, config changes and rollbacks in flight go on, for up to the shutdown timeout.
    lifecycle.drain();
    certOrders.stop();
    apiServer.closeIdleConnections();
    if (!(await deps.locks.drain(timeoutMs))) {
      log(`Stopping ${deps.locks.busy} deploy(s) or restart(s) still running after ${Math.round(timeoutMs / 1000)} s; releases they were making are marked failed`);
      // 2. What is left is stopped: build steps and release phases by the signal, booting dynos by stopAll.
      lifecycle.stopWork();
      await runner.stopAll();
      await deps.locks.drain(config.stopGraceMs + 5000);
    }
    // 3. The router stops taking connections and finishes the requests it carries; routers of their
    //    own lose the stream and keep their last table (on Docker the dynos stay, so they go on
    //    serving). Nothing published from here on reaches a router. Then every dyno gets SIGTERM
    //    and its grace period (on Docker, only the ones still booting).
    const closed = new Promise((r) => apiServer.close(r));
    await fleet?.stop();
    await routeStream.close();
    await runner.close();
    await closeAddons(addons, log);
    // After every dyno and add-on server: their namespaces, veths, rules and cgroups go.
    await networks?.close();
    limits.cgroups?.close();
    // After the dynos: a tail sees their last lines; the CLI reconnects once the server is back.
    await Promise.all([tails.close(), eventStream.close()]);
    events.close();
    // After the dynos: their last lines go out too, for at most 2 s however many drains are dead.
    await drains.close(2000);
    apiServer.closeAllConnections();
    await closed;
    await logs.flush();
    db.close();
  }
}
