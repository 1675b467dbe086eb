// The Docker objects of one add-on: its named volume, the one-off init container that prepares it,
// and the server's container. All carry paas's labels with this server's instance and the add-on's
// name, and paas touches no object without them.
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import { LABELS } from '../../docker/engine.js';
import { statusOf } from '../../docker/streams.js';
import type { AddonInstance, AddonService } from '../types.js';
import { ADDON_IMAGES } from './images.js';
import { DATA, PG_ENV, SCRIPTS } from './scripts.js';

/** The label that names the add-on a container or volume belongs to. */
export const ADDON_LABEL = 'paas.addon';

/** The port each service listens on inside its container (and in its URL). */
export const SERVICE_PORTS: Record<AddonService, number> = { postgresql: 5432, redis: 6379 };

/** How long a clean stop may take before Docker kills the server (PostgreSQL fast shutdown, Redis SHUTDOWN SAVE). */
export const STOP_TIMEOUT_S = 30;

/**
 * The add-on's container and volume name, which is also its host name on the dyno network. The
 * instance is in it because container names are unique per engine, and two paas servers sharing
 * one may both have an add-on of a name.
 */
export function objectName(name: string, instance: string): string {
  return `paas-addon-${name}-${instance}`;
}

/** The labels on an add-on's container and volume: paas's, this server's, and the add-on's name. */
export function addonLabels(name: string, instance: string): Record<string, string> {
  return { [LABELS.managed]: 'true', [LABELS.instance]: instance, [LABELS.kind]: 'addon', [ADDON_LABEL]: name };
}

/** Whether a container's or volume's labels make it this server's object of add-on `name`. */
export function isOurs(labels: Record<string, string> | undefined | null, name: string, instance: string): boolean {
  return labels?.[LABELS.managed] === 'true' && labels[LABELS.instance] === instance && labels[LABELS.kind] === 'addon' && labels[ADDON_LABEL] === name;
}

/**
 * Runs the image's init script as root in a one-off container on the new volume (the volume is
 * made the add-on's uid's, then its setup runs as that uid) and feeds it `secret` on stdin, so the
 * password is in no Cmd or Env. Resolves with its output; rejects with it when it fails.
 */
export async function runInit(docker: Docker, service: AddonService, volume: string, labels: Record<string, string>, argv: string[], secret: string): Promise<string> {
  const container = await docker.createContainer({
    Image: ADDON_IMAGES[service],
    Entrypoint: [`${SCRIPTS}/init`],
    Cmd: argv,
    User: '0:0',
    Labels: { ...labels, [LABELS.kind]: 'addon-init' },
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    OpenStdin: true,
    StdinOnce: true,
    HostConfig: {
      NetworkMode: 'none',
      Mounts: [{ Type: 'volume', Source: volume, Target: DATA }],
      CapDrop: ['ALL'],
      CapAdd: ['CHOWN', 'SETUID', 'SETGID'],
      SecurityOpt: ['no-new-privileges'],
    },
  });
  try {
    const stream = (await container.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true }));
    const output: Buffer[] = [];
    const out = new PassThrough();
    out.on('data', (chunk: Buffer) => output.push(chunk));
    docker.modem.demuxStream(stream, out, out);
    stream.on('error', () => undefined);
    await container.start();
    stream.end(`${secret}\n`);
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    const text = Buffer.concat(output).toString('utf8').split(secret).join('********');
    if (StatusCode !== 0) throw new Error(`the add-on's init step exited with code ${StatusCode}: ${text.trim().split('\n').slice(-5).join(' | ')}`);
    return text;
  } finally {
    await container.remove({ force: true }).catch(() => undefined);
  }
}

/** Creates the server's container of a provisioned add-on (not started). */
export function createServer(docker: Docker, opts: { instance: AddonInstance; server: string; network: string }): Promise<Docker.Container> {
  const { instance: addon, server, network } = opts;
  const port = `${SERVICE_PORTS[addon.service]}/tcp`;
  const pg = addon.service === 'postgresql';
  const name = objectName(addon.name, server);
  return docker.createContainer({
    name,
    Hostname: name,
    Image: ADDON_IMAGES[addon.service],
    Entrypoint: pg ? ['postgres'] : ['redis-server'],
    // The Redis password is in its config file (0600, in the volume), never on its command line.
    Cmd: pg ? [] : [`${DATA}/redis.conf`],
    Env: pg ? PG_ENV : [],
    User: `${addon.uid}:${addon.uid}`,
    Labels: addonLabels(addon.name, server),
    ExposedPorts: { [port]: {} },
    // PostgreSQL's fast shutdown is SIGINT; Redis is told (shutdown-on-sigterm) that SIGTERM means SHUTDOWN SAVE.
    StopSignal: pg ? 'SIGINT' : 'SIGTERM',
    StopTimeout: STOP_TIMEOUT_S,
    HostConfig: {
      Init: true,
      NetworkMode: network,
      Mounts: [{ Type: 'volume', Source: name, Target: DATA }],
      // Loopback only, on a port the engine picks: paas's readiness checks and nothing else.
      PortBindings: { [port]: [{ HostIp: '127.0.0.1', HostPort: '' }] },
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      PidsLimit: 512,
      RestartPolicy: { Name: 'no' },
    },
    NetworkingConfig: { EndpointsConfig: { [network]: { Aliases: [name] } } },
  });
}

/** The loopback port Docker published the server's port on (it changes with each start). */
export function publishedPort(info: Docker.ContainerInspectInfo, service: AddonService): number | undefined {
  const bindings = info.NetworkSettings.Ports?.[`${SERVICE_PORTS[service]}/tcp`] as { HostIp: string; HostPort: string }[] | null | undefined;
  const port = Number(bindings?.find((b) => b.HostIp === '127.0.0.1')?.HostPort);
  return Number.isInteger(port) && port > 0 ? port : undefined;
}

/** Inspects a container by name or id; undefined when there is none. */
export async function inspectContainer(docker: Docker, ref: string): Promise<Docker.ContainerInspectInfo | undefined> {
  try {
    return await docker.getContainer(ref).inspect();
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw err;
  }
}
