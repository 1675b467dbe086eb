import fs from 'node:fs';
import type { SandboxHost } from '../sandbox/host.js';
import type { Db } from '../store/db.js';
import type { NetworkRange } from './cidr.js';
import { netTool } from './exec.js';
import { AppNetworks } from './networks.js';

/** PAAS_APP_NETWORKS and PAAS_APP_NETWORK_CIDR, as config.ts reads them. */
export interface AppNetworkConfig {
  /** `auto`: a network namespace per app and add-on server on the process runtime when paas runs as root; `off`: none. */
  mode: 'auto' | 'off';
  range: NetworkRange;
}

const SHARED = "apps share the host's network: a dyno can connect to the API, the router, other apps' dynos and add-ons on any host address, and only the listener's uid tells a dyno's port from a squatter's";

/**
 * The process runtime's app networks, ready (stale ones of this instance removed, the nftables
 * table made), or undefined and the reason, said once at start-up, why apps share the host's network.
 */
export async function startAppNetworks(params: { config: AppNetworkConfig; sandbox: SandboxHost; db: Db; instance: string; log: (line: string) => void }): Promise<{ networks?: AppNetworks; warning?: string }> {
  const { config, sandbox } = params;
  if (config.mode === 'off') return {};
  if (!sandbox.asRoot) return { warning: `paas is not running as root, so ${SHARED}. Run paas as root to give each app a network of its own.` };
  if (sandbox.kind !== 'bwrap') return { warning: `without bubblewrap ${SHARED}.` };
  for (const [tool, flag, pkg] of [['ip', '-V', 'iproute2'], ['nft', '--version', 'nftables'], ['nsenter', '--version', 'util-linux']]) {
    if (!(await netTool([tool, flag]).then(() => true, () => false))) return { warning: `${tool} is not installed, so ${SHARED}. Install it (apt-get install ${pkg}) and restart paas.` };
  }
  const networks = new AppNetworks({ range: config.range, instance: params.instance, db: params.db, log: params.log });
  try {
    for (const note of await networks.start()) params.log(note);
  } catch (err) {
    await networks.close().catch(() => undefined);
    return { warning: `app networks could not be set up (${(err as Error).message.split('\n')[0]}), so ${SHARED}. Set PAAS_APP_NETWORKS=off to silence this.` };
  }
  return { networks, warning: loopbackResolverWarning() };
}

/**
 * Apps resolve names with the host's /etc/resolv.conf, from their namespace: a resolver on the
 * host's loopback (systemd-resolved's 127.0.0.53) is out of their reach, so their lookups would fail.
 */
function loopbackResolverWarning(): string | undefined {
  let conf: string;
  try {
    conf = fs.readFileSync('/etc/resolv.conf', 'utf8');
  } catch {
    return undefined;
  }
  const local = [...conf.matchAll(/^\s*nameserver\s+(\S+)/gm)].map((m) => m[1]).filter((ns) => ns.startsWith('127.') || ns === '::1');
  if (local.length === 0) return undefined;
  return `/etc/resolv.conf names a resolver on this host's loopback (${local.join(', ')}), which apps in their own networks cannot reach: their name lookups will fail. Point it at resolvers apps can reach (systemd-resolved: /run/systemd/resolve/resolv.conf), or set PAAS_APP_NETWORKS=off.`;
}
