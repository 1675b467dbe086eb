// The add-on control plane on the docker runtime: DockerAddons behind the same API and CLI. An
// add-on is created and attached, its dyno container sees its var, a backup is captured, and
// destroying it with --force detaches it first. The containers' own behaviour is in addons.test.ts.
import { beforeAll, expect, it } from 'vitest';
import type { Addon, Backup } from '../../cli/types.js';
import { dockerPaasWithApp, dockerSuite } from '../helpers/docker.js';
import { addonVarsApp } from '../helpers/fixtures.js';
import { apiCall, cli, type Paas, viaRouter } from '../helpers/paas.js';

const APP = 'dkr-adn';

dockerSuite('add-ons through the API and CLI (docker runtime)', () => {
  let paas: Paas;
  beforeAll(async () => {
    paas = await dockerPaasWithApp(APP, addonVarsApp);
  });

  async function ok(args: string[]): Promise<string> {
    const r = await cli(paas, args);
    expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r.stdout;
  }

  it('creates, attaches, backs up and destroys a PostgreSQL add-on', async () => {
    const name = (await ok(['addons:create', 'postgresql', '-a', APP])).trim();
    const url = ((await apiCall(paas, 'GET', `/v1/apps/${APP}/config`)).json as Record<string, string>).DATABASE_URL;
    const password = decodeURIComponent(new URL(url).password);
    expect(JSON.parse((await viaRouter(paas, `${APP}.localhost`)).body)).toMatchObject({ database: true });
    const list = await ok(['addons', '-a', APP, '--json']);
    expect(JSON.parse(list)).toEqual([expect.objectContaining({ name, service: 'postgresql', state: 'running', attachments: [{ app: APP, as: 'DATABASE' }] })] satisfies Addon[]);
    expect(list).not.toContain(password);

    expect((await ok(['pg:backups:capture', '-a', APP])).trim()).toBe('b001');
    const backups = JSON.parse(await ok(['pg:backups', '-a', APP, '--json'])) as Backup[];
    expect(backups).toEqual([expect.objectContaining({ id: 'b001', status: 'succeeded' })]);
    expect(await ok(['pg:backups:restore', 'b001', '-a', APP, '--confirm', APP])).toContain(`Restored b001 into ${name}`);

    expect(await ok(['addons:destroy', name, '--confirm', name, '--force'])).toContain(`Destroyed ${name}`);
    expect(JSON.parse(await ok(['addons', '--all', '--json']))).toEqual([]);
    expect((await apiCall(paas, 'GET', `/v1/apps/${APP}/config`)).json).toEqual({});
    expect(paas.output()).not.toContain(password);
  });
});
