// For the Docker suites: they run when an engine answers (test/docker-global-setup.ts decides once
// per run, and fails the run when PAAS_TEST_DOCKER=1 and none does), and skip otherwise.
import type Docker from 'dockerode';
import { describe, expect, inject } from 'vitest';
import { runInImage as run, type RunResult } from '../../lib/docker/run-in-image.js';
import fs from 'node:fs';
import path from 'node:path';
import { onCleanup } from './cleanup.js';
import { createApp, gitRepo, type Paas, push, sh, startPaas, tempDir } from './paas.js';
import { instanceId } from '../../server/docker/engine.js';
import { unguardHost } from '../../server/docker/host-guard.js';
import { DockerNetworks } from '../../server/docker/networks.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Whether an engine answers at DOCKER_HOST (the Docker suites run only then); test/docker-global-setup.ts decides. */
    paasDockerAvailable: boolean;
  }
}

/** Labels on every container a test makes: paas's own, so cleanup code may touch them. */
export const TEST_LABELS = { 'paas.managed': 'true', 'paas.kind': 'test' };

/** `describe`, skipped when no engine answers (and PAAS_TEST_DOCKER is not set). */
export function dockerSuite(name: string, fn: () => void): void {
  describe.skipIf(!inject('paasDockerAvailable'))(name, fn);
}

let client: Promise<Docker> | undefined;

/** The engine client for the Docker suites (DOCKER_HOST or the default socket). */
export function testDocker(): Promise<Docker> {
  client ??= import('../../server/docker/engine.js').then((m) => m.connectDocker());
  return client;
}

export type { RunResult } from '../../lib/docker/run-in-image.js';

/**
 * `docker run --rm image argv…` in a test: a labelled container, removed when it ends (or, should the
 * test stop first, when the test does).
 */
export function runInImage(docker: Docker, image: string, argv: string[], opts: { user?: string; env?: string[] } = {}): Promise<RunResult> {
  return run(docker, image, argv, { ...opts, labels: TEST_LABELS, created: (c) => onCleanup(() => c.remove({ force: true }).catch(() => undefined)) });
}

/** The stack image the Docker suites build on (CI builds it before the tests). */
export const STACK_IMAGE = process.env.PAAS_STACK_IMAGE || 'paas/stack:bookworm';

/**
 * Env for a paas server on the docker runtime in a test: the stack, and the CA the host trusts (a
 * TLS-intercepting proxy) for dependency installs, as paas itself reads it from the environment.
 */
export function dockerTestEnv(): Record<string, string> {
  const ca = process.env.PAAS_BUILD_CA_FILE || process.env.NODE_EXTRA_CA_CERTS || process.env.SSL_CERT_FILE;
  return {
    PAAS_RUNTIME: 'docker',
    PAAS_STACK_IMAGE: STACK_IMAGE,
    PAAS_BOOT_TIMEOUT_MS: '30000',
    ...(process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {}),
    ...(ca ? { PAAS_BUILD_CA_FILE: ca } : {}),
  };
}

/**
 * Removes every container, slug image and add-on volume a test server made (its paas.instance label): Docker dynos
 * outlive their server. Stop the server first, or it brings the dynos back.
 */
export async function removeInstance(docker: Docker, instance: string, apps: string[] = []): Promise<void> {
  const filters = { label: ['paas.managed=true', `paas.instance=${instance}`] };
  for (const c of await docker.listContainers({ all: true, filters })) await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
  // Its networks (one per app and the add-ons' home) once their containers are gone, and its firewall rule.
  for (const n of await docker.listNetworks({ filters })) await docker.getNetwork(n.Id).remove().catch(() => undefined);
  await unguardHost(new DockerNetworks({ docker, instance, prefix: 'paas' }).bridgePrefix, instance);
  for (const img of await docker.listImages({ filters })) await docker.getImage(img.Id).remove({ force: true }).catch(() => undefined);
  // Add-ons' data volumes (once their containers are gone).
  const { Volumes } = await docker.listVolumes({ filters });
  for (const v of Volumes ?? []) await docker.getVolume(v.Name).remove().catch(() => undefined);
  // The dependency caches of the test's apps (untagged install stages, labelled by app only).
  for (const app of apps) {
    for (const img of await docker.listImages({ filters: { dangling: ['true'], label: ['paas.managed=true', `paas.app=${app}`] } })) {
      await docker.getImage(img.Id).remove({ force: true }).catch(() => undefined);
    }
  }
}

/**
 * package.json for `pkg` and the lockfile npm resolves for it (from the npm registry, which is
 * reachable where these suites run), as a push's files.
 */
export async function withLockfile(pkg: Record<string, unknown>): Promise<Record<string, string>> {
  const dir = tempDir('paas-lock-');
  const json = JSON.stringify(pkg, null, 2);
  fs.writeFileSync(path.join(dir, 'package.json'), json);
  // npm keeps a compile cache in TMPDIR: give it one that goes with the caller.
  const r = await sh('npm', ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: dir, env: { ...process.env, TMPDIR: tempDir('paas-npm-tmp-') } });
  if (r.code !== 0) throw new Error(`npm could not make a lockfile: ${r.stderr}`);
  return { 'package.json': json, 'package-lock.json': fs.readFileSync(path.join(dir, 'package-lock.json'), 'utf8') };
}

/**
 * Removes what a test server on the docker runtime made (removeInstance) when the test or file
 * ends, after stopping it: a server still running would start again a dyno whose container was
 * removed under it, and that container (and its image) would outlive the test.
 */
export async function removeWhenDone(paas: Paas, apps: string[]): Promise<void> {
  const docker = await testDocker();
  const instance = instanceId(paas.dataDir);
  onCleanup(async () => {
    await paas.stop();
    await removeInstance(docker, instance, apps);
  });
}

/**
 * A paas server on the docker runtime with `app` created and `files` pushed to it; what the server
 * made (containers, images, volumes) is removed when the file ends.
 */
export async function dockerPaasWithApp(app: string, files: Record<string, string>): Promise<Paas> {
  const paas = await startPaas(dockerTestEnv());
  await removeWhenDone(paas, [app]);
  await createApp(paas, app);
  const pushed = await push(paas, await gitRepo(paas, files), app);
  expect(pushed.code, pushed.stderr).toBe(0);
  return paas;
}
