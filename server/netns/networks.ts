import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import type { Db } from '../store/db.js';
import { attachedAddonNames, forgetSlot, recordedSlot, recordSlot } from '../store/networks.js';
import { type NetworkRange, slotAddresses } from './cidr.js';
import { NetCommandError, netTool } from './exec.js';
import { elements, tableName, tableRules } from './rules.js';

/** What a process joins: the namespace (its path for `nsenter --net=`) and the address it has there. */
export interface JoinedNetwork {
  netns: string;
  address: string;
}

interface Claimed extends JoinedNetwork {
  owner: string;
  slot: number;
  /** The namespace's name under /run/netns. */
  name: string;
  /** The host end of its veth. */
  ifname: string;
}

export interface AppNetworksOptions {
  range: NetworkRange;
  /** This server's instance id (`<data>/instance`): in every name it makes, so it never takes another server's. */
  instance: string;
  db: Db;
  log: (line: string) => void;
}

/** How many slots one claim tries before it gives up (each try costs two `ip` runs). */
const MAX_TRIES = 256;
const NETNS_DIR = '/run/netns';

/**
 * The network namespaces of this server's apps and add-on servers, on the process runtime as root:
 * one per app (its dynos, release phase, one-offs and builds share it) and one per add-on server,
 * each a /30 with a veth to the host, filtered by this server's nftables table (rules.ts). Made
 * when first needed, removed with the app or add-on and when the server stops.
 *
 * A slot is claimed on the host by creating its veth (named after its /30, cidr.ts), which fails
 * when any server holds it: servers sharing a host never get the same addresses.
 */
export class AppNetworks {
  private readonly claims = new Map<string, Promise<Claimed>>();
  private readonly known = new Map<string, Claimed>();
  /** Per app owner: the `app . add-on` address pairs in the table now. */
  private readonly pairs = new Map<string, Set<string>>();
  /** Slots a claim of this server is trying now: another claim of ours must not touch them. */
  private readonly trying = new Set<number>();
  /** nft changes one at a time, so the sets stay as this object believes. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: AppNetworksOptions) {}

  private get prefix(): string {
    return `paas-${this.opts.instance}-`;
  }

  /** Runs `fn` after every change queued before it: the sets change one at a time. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private nft(script: string): Promise<void> {
    return this.serial(async () => void (script ? await netTool(['nft', '-f', '-'], script) : undefined));
  }

  /**
   * Removes what a previous run of this server left (namespaces and veths named with its instance
   * id, its table), then makes the table and lets forwarding through: ip_forward, and Docker's
   * `DOCKER-USER` chain, without which Docker's FORWARD policy (DROP) would stop app traffic out.
   */
  async start(): Promise<string[]> {
    const notes: string[] = [];
    for (const name of fs.existsSync(NETNS_DIR) ? fs.readdirSync(NETNS_DIR) : []) {
      if (name.startsWith(this.prefix)) await netTool(['ip', 'netns', 'delete', name]).catch(() => undefined);
    }
    const links = JSON.parse((await netTool(['ip', '-j', '-d', 'link', 'show', 'type', 'veth'])) || '[]') as { ifname: string; ifalias?: string }[];
    for (const link of links) if (link.ifalias?.startsWith(this.alias(''))) await netTool(['ip', 'link', 'delete', link.ifname]).catch(() => undefined);
    await netTool(['nft', 'delete', 'table', 'inet', tableName(this.opts.instance)]).catch(() => undefined);
    await this.nft(tableRules(this.opts.instance, this.opts.range, process.getuid?.() ?? 0));
    // Namespace addresses stay on this host: one of a namespace that is gone is unreachable, never
    // sent to the default gateway. Shared by the servers on the range (each /30's own route wins).
    await netTool(['ip', 'route', 'add', 'unreachable', this.opts.range.cidr]).catch(() => undefined);
    if (fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim() === '0') {
      fs.writeFileSync('/proc/sys/net/ipv4/ip_forward', '1');
      notes.push('turned on IPv4 forwarding (net.ipv4.ip_forward=1) for the apps\' outbound traffic');
    }
    if (await netTool(['iptables', '-w', '-n', '-L', 'DOCKER-USER']).then(() => true, () => false)) {
      // Shared by every paas server on this range, so never removed: it only stops Docker's chain
      // from dropping what this table already filtered.
      for (const side of ['-s', '-d']) {
        const rule = ['DOCKER-USER', side, this.opts.range.cidr, '-m', 'comment', '--comment', 'paas app networks', '-j', 'ACCEPT'];
        if (!(await netTool(['iptables', '-w', '-C', ...rule]).then(() => true, () => false))) await netTool(['iptables', '-w', '-I', ...rule]);
      }
    }
    return notes;
  }

  private alias(owner: string): string {
    return `paas:${this.opts.instance}:${owner}`;
  }

  /** The app's network (made on first use), with its attached add-ons' servers let in and no others. */
  async forApp(app: string): Promise<JoinedNetwork> {
    const net = await this.ensure(`app:${app}`);
    // Read and changed in turn, so two of the app's processes starting at once agree on the set.
    await this.serial(async () => {
      const want = new Set<string>();
      for (const addon of attachedAddonNames(this.opts.db, app)) {
        const server = this.known.get(`addon:${addon}`);
        if (server) want.add(`${net.address} . ${server.address}`);
      }
      const have = this.pairs.get(net.owner) ?? new Set<string>();
      const add = [...want].filter((p) => !have.has(p));
      const drop = [...have].filter((p) => !want.has(p));
      if (add.length === 0 && drop.length === 0) return;
      await netTool(['nft', '-f', '-'], elements(this.opts.instance, 'delete', 'pairs', drop) + elements(this.opts.instance, 'add', 'pairs', add));
      this.pairs.set(net.owner, want);
    });
    return net;
  }

  /** An add-on server's network (made on first use). */
  forAddon(addon: string): Promise<JoinedNetwork> {
    return this.ensure(`addon:${addon}`);
  }

  /** The address an add-on server listens on, once its network is up (what its URL names). */
  addonAddress(addon: string): string | undefined {
    return this.known.get(`addon:${addon}`)?.address;
  }

  private ensure(owner: string): Promise<Claimed> {
    let claim = this.claims.get(owner);
    if (!claim) {
      claim = this.claim(owner);
      this.claims.set(owner, claim);
      const mine = claim;
      // Unless removed meanwhile (remove() takes the network down once the claim settles).
      claim.then(
        (c) => this.claims.get(owner) === mine && this.known.set(owner, c),
        () => this.claims.get(owner) === mine && this.claims.delete(owner),
      );
    }
    return claim;
  }

  private async claim(owner: string): Promise<Claimed> {
    const { range, db } = this.opts;
    const taken = new Set([...this.known.values()].map((c) => c.slot));
    const recorded = recordedSlot(db, owner);
    const first = recorded ?? randomInt(range.slots);
    for (let i = 0; i < Math.min(MAX_TRIES, range.slots); i++) {
      const slot = (first + i) % range.slots;
      if (taken.has(slot) || this.trying.has(slot)) continue;
      this.trying.add(slot);
      try {
        const claimed = await this.tryClaim(owner, slot);
        if (!claimed) continue;
        recordSlot(db, owner, slot);
        return claimed;
      } finally {
        this.trying.delete(slot);
      }
    }
    throw new Error(`no free network for ${owner} in PAAS_APP_NETWORK_CIDR=${range.cidr} after ${MAX_TRIES} tries: other servers hold them; give this server a range of its own`);
  }

  /** Makes the slot's namespace and veth; false when another server holds the slot. */
  private async tryClaim(owner: string, slot: number): Promise<Claimed | undefined> {
    const name = `${this.prefix}${slot}`;
    const { host, inside, ifname } = slotAddresses(this.opts.range, slot);
    // start() removed this instance's leftovers: a namespace of that name is another claim's.
    try {
      await netTool(['ip', 'netns', 'add', name]);
    } catch (err) {
      if (err instanceof NetCommandError && /exists/i.test(err.stderr)) return undefined;
      throw err;
    }
    try {
      await netTool(['ip', 'link', 'add', ifname, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', name]);
    } catch (err) {
      await netTool(['ip', 'netns', 'delete', name]).catch(() => undefined);
      if (err instanceof NetCommandError && /exists/i.test(err.stderr)) return undefined;
      throw err;
    }
    try {
      await netTool(['ip', '-batch', '-'], `address add ${host}/30 dev ${ifname}\nlink set dev ${ifname} alias ${this.alias(owner)}\nlink set dev ${ifname} up\n`);
      await netTool(['ip', '-n', name, '-batch', '-'], `link set dev lo up\naddress add ${inside}/30 dev eth0\nlink set dev eth0 up\nroute add default via ${host}\n`);
      await this.nft(elements(this.opts.instance, 'add', owner.startsWith('app:') ? 'apps' : 'addons', [`"${ifname}"`]));
      return { owner, slot, name, ifname, netns: `${NETNS_DIR}/${name}`, address: inside };
    } catch (err) {
      await netTool(['ip', 'netns', 'delete', name]).catch(() => undefined);
      throw err;
    }
  }

  /** Removes the network of a destroyed app (`app`) or add-on (`addon`): namespace, veth, rules, record. */
  async remove(kind: 'app' | 'addon', name: string): Promise<void> {
    const owner = `${kind}:${name}`;
    const claim = this.claims.get(owner);
    this.claims.delete(owner);
    this.known.delete(owner);
    forgetSlot(this.opts.db, owner);
    const net = await claim?.catch(() => undefined);
    if (!net) return;
    const gone: string[] = [];
    for (const [app, set] of this.pairs) {
      for (const pair of set) {
        if (app === owner || pair.endsWith(` . ${net.address}`)) {
          gone.push(pair);
          set.delete(pair);
        }
      }
    }
    this.pairs.delete(owner);
    await this.nft(elements(this.opts.instance, 'delete', 'pairs', gone) + elements(this.opts.instance, 'delete', kind === 'app' ? 'apps' : 'addons', [`"${net.ifname}"`])).catch(() => undefined);
    await netTool(['ip', 'netns', 'delete', net.name]).catch(() => undefined);
  }

  /** On shutdown, after every dyno and add-on server stopped: every namespace and the table go. */
  async close(): Promise<void> {
    const nets = await Promise.all([...this.claims.values()].map((c) => c.catch(() => undefined)));
    this.claims.clear();
    this.known.clear();
    this.pairs.clear();
    for (const net of nets) if (net) await netTool(['ip', 'netns', 'delete', net.name]).catch(() => undefined);
    await this.queue;
    await netTool(['nft', 'delete', 'table', 'inet', tableName(this.opts.instance)]).catch(() => undefined);
  }
}
