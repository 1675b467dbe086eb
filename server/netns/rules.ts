// The nftables table of one paas server: what app and add-on namespaces may reach. Every rule
// matches only interfaces in this table's own sets, so other servers' tables (and Docker's) are
// never affected, and a packet has to pass each table's chains on a hook anyway.
import type { NetworkRange } from './cidr.js';

/** The table's name for a server instance id (`<data>/instance`, hex). */
export function tableName(instance: string): string {
  return `paas_${instance}`;
}

/**
 * The whole table, made at start-up (after any leftover of this instance is deleted):
 * - `apps`, `addons`: the host ends of the namespaces' veths; `pairs`: app address . add-on address
 *   of each attachment, the only forwarding between namespaces allowed.
 * - input: from a namespace, only replies reach the host (the router's and paas's connections into
 *   it); nothing new, on any host address or port (API, router, dockerd, other services).
 * - forward: app → attached add-on; app → anything not ours (the world, masqueraded); nothing new
 *   into a namespace from outside, nothing from an add-on, nothing to another paas server's
 *   namespaces nor to Docker's bridges (containers on this host).
 * - output: only paas's own uid (paas and its router) opens connections into a namespace.
 */
export function tableRules(instance: string, range: NetworkRange, uid: number): string {
  const t = tableName(instance);
  return `table inet ${t} {
  set apps { type ifname; }
  set addons { type ifname; }
  set pairs { type ipv4_addr . ipv4_addr; }
  chain input {
    type filter hook input priority filter - 5; policy accept;
    iifname @apps ct state established,related accept
    iifname @addons ct state established,related accept
    iifname @apps drop
    iifname @addons drop
  }
  chain forward {
    type filter hook forward priority filter - 5; policy accept;
    iifname @apps ip saddr . ip daddr @pairs accept
    oifname @apps ct state established,related accept
    oifname @addons ct state established,related accept
    iifname @addons drop
    oifname @apps drop
    oifname @addons drop
    iifname @apps ip daddr ${range.cidr} drop
    iifname @apps oifname "docker0" drop
    iifname @apps oifname "br-*" drop
  }
  chain output {
    type filter hook output priority filter - 5; policy accept;
    oifname @apps ct state new meta skuid != ${uid} drop
    oifname @addons ct state new meta skuid != ${uid} drop
  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    iifname @apps oifname != @apps oifname != @addons masquerade
  }
}
`;
}

/** nft commands adding (`add`) or deleting elements of one of the table's sets. */
export function elements(instance: string, verb: 'add' | 'delete', set: 'apps' | 'addons' | 'pairs', items: string[]): string {
  if (items.length === 0) return '';
  return `${verb} element inet ${tableName(instance)} ${set} { ${items.join(', ')} }\n`;
}
