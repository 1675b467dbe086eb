// The app networks' allocator (issue 22), on this host's real namespaces, veths and nftables: two
// paas servers (two instance ids, two stores) on one range never get the same /30, a restarted
// server removes only what its own instance left, and a stopped one leaves nothing. Root only.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseRange } from '../server/netns/cidr.js';
import { AppNetworks } from '../server/netns/networks.js';
import { openStore } from '../server/store/db.js';
import { recordedSlot, recordSlot } from '../server/store/networks.js';
import { onCleanup } from './helpers/cleanup.js';
import { hostCanRun, root } from './helpers/host.js';
import { tempDir } from './helpers/paas.js';

const canRun = hostCanRun('app network allocation', { ...root('network namespaces, veths'), 'nftables (/usr/sbin/nft)': fs.existsSync('/usr/sbin/nft') });

/** A range of two /30s of this test's own (random, so parallel runs of it do not meet). */
function tinyRange() {
  const third = 64 + (randomBytes(1)[0] % 128);
  const fourth = (randomBytes(1)[0] % 32) * 8;
  const range = parseRange(`10.214.${third}.${fourth}/29`);
  if (typeof range === 'string') throw new Error(range);
  return range;
}

function server(instance: string, range: ReturnType<typeof tinyRange>) {
  const db = openStore(path.join(tempDir('netns-'), 'paas.db'), []);
  const networks = new AppNetworks({ range, instance, db, log: () => undefined });
  onCleanup(async () => {
    await networks.close();
    db.close();
  });
  return { db, networks };
}

const namespaces = (instance: string) => (fs.existsSync('/run/netns') ? fs.readdirSync('/run/netns') : []).filter((n) => n.startsWith(`paas-${instance}-`));
const tables = () => execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' });

describe.runIf(canRun)('app network allocation across paas servers on one host', () => {
  it('gives two servers different /30s even when both want the same one, and says when none is left', async () => {
    const range = tinyRange();
    const [idA, idB] = [randomBytes(6).toString('hex'), randomBytes(6).toString('hex')];
    const a = server(idA, range);
    const b = server(idB, range);
    await a.networks.start();
    await b.networks.start();
    const first = await a.networks.forApp('one');
    // B's store says it had A's slot before (a restart after A took it): the veth's name is taken, so B moves on.
    recordSlot(b.db, 'app:two', recordedSlot(a.db, 'app:one')!);
    const second = await b.networks.forApp('two');
    expect(second.address).not.toBe(first.address);
    expect([first.address, second.address].every((ip) => ip.startsWith(range.cidr.split('.').slice(0, 3).join('.')))).toBe(true);
    expect(recordedSlot(b.db, 'app:two')).not.toBe(recordedSlot(a.db, 'app:one'));
    await expect(b.networks.forAddon('three')).rejects.toThrow(/no free network for addon:three/);
    expect(namespaces(idA)).toHaveLength(1);
    expect(tables()).toContain(`paas_${idA}`);
    await a.networks.close();
    expect(namespaces(idA)).toEqual([]);
    expect(tables()).not.toContain(`paas_${idA}`);
    expect(namespaces(idB)).toHaveLength(1);
  });

  it('gives two apps of one server claiming at once different /30s, and one app claiming twice the same', async () => {
    const range = tinyRange();
    const id = randomBytes(6).toString('hex');
    const { networks } = server(id, range);
    await networks.start();
    const [a, b, a2] = await Promise.all([networks.forApp('a'), networks.forApp('b'), networks.forApp('a')]);
    expect(a.address).not.toBe(b.address);
    expect(a2).toEqual(a);
    expect(namespaces(id)).toHaveLength(2);
  });

  it("clears what a killed server of the same instance left at the next start, and nothing of another's", async () => {
    const range = tinyRange();
    const [id, other] = [randomBytes(6).toString('hex'), randomBytes(6).toString('hex')];
    const killed = server(id, range);
    const neighbour = server(other, range);
    await killed.networks.start();
    await neighbour.networks.start();
    await killed.networks.forApp('left');
    await neighbour.networks.forApp('kept');
    // The same instance again, over the same store, without the first one having closed (a SIGKILL).
    const again = new AppNetworks({ range, instance: id, db: killed.db, log: () => undefined });
    onCleanup(() => again.close());
    await again.start();
    expect(namespaces(id)).toEqual([]);
    expect(namespaces(other)).toHaveLength(1);
    // The app gets its recorded /30 back.
    const slot = recordedSlot(killed.db, 'app:left');
    await again.forApp('left');
    expect(recordedSlot(killed.db, 'app:left')).toBe(slot);
    await again.remove('app', 'left');
    expect(namespaces(id)).toEqual([]);
    expect(recordedSlot(killed.db, 'app:left')).toBeUndefined();
  });
});
