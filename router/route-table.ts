import type { AppRoute, RouteTarget, ServerMessage, Unavailable } from './protocol.js';
import { TlsStore } from './tls-store.js';

type Tls = AppRoute['tls'];

/** Where a request goes, from its Host header; with the app's HTTPS settings where there is an app. */
export type Resolved =
  /** No app at this host: 404. */
  | { kind: 'unknown' }
  /** The router has had no table yet (just started, control plane not reached): 503 H99. */
  | { kind: 'no-table' }
  | { kind: 'maintenance'; app: string; tls: Tls }
  | { kind: 'unavailable'; app: string; code: Unavailable; tls: Tls }
  | { kind: 'ok'; app: string; targets: readonly RouteTarget[]; tls: Tls };

/** The host part of a Host header, lower case, without port or trailing dot. */
export function hostName(header: string): string {
  let end = header.length;
  if (header.charCodeAt(end - 1) !== 93 /* ] */) {
    const colon = header.lastIndexOf(':');
    if (colon >= 0 && header.indexOf(':') === colon) end = colon;
  }
  let name = header.slice(0, end).toLowerCase();
  if (name.endsWith('.')) name = name.slice(0, -1);
  return name;
}

/**
 * An app being restored keeps the dynos a router already had for it (they may well be the same
 * ones, adopted), while its maintenance and domains are the control plane's current ones.
 */
function keepTargets(route: AppRoute, previous: AppRoute | undefined): AppRoute {
  if (!previous) return route;
  if (route.restoring) return { ...route, targets: previous.targets, unavailable: previous.unavailable };
  return { ...route, targets: route.targets.map((t) => previous.targets.find((p) => sameTarget(p, t)) ?? t) };
}

/**
 * A target listed in one message and the next is the same object, so a router can tell a dyno that
 * stayed listed from one withdrawn and then listed again at the same port (a restart): a request
 * that was cut by the first must not be sent again to the second, which it may kill in turn.
 */
function sameTarget(a: RouteTarget, b: RouteTarget): boolean {
  return a.host === b.host && a.port === b.port && a.dyno === b.dyno && a.release === b.release;
}

/**
 * A router's copy of the route table, built from the route stream (a snapshot, then changes) and
 * read on every request. It holds nothing else: a router that loses the stream keeps serving it.
 */
export class RouteTable {
  private apps = new Map<string, AppRoute>();
  private hosts = new Map<string, string>();
  private suffix = '';
  private loaded = false;
  /** The certificates and ACME challenges, from the stream's `certs` and `challenges` messages. */
  readonly tls = new TlsStore();

  /** `domain` (the router's own PAAS_DOMAIN) wins over the one the snapshot names. */
  constructor(private readonly domain?: string) {}

  /** Whether a snapshot has arrived. */
  get ready(): boolean {
    return this.loaded;
  }

  /** Applies one message of the stream; drains are not the table's business and are ignored. */
  apply(msg: ServerMessage): void {
    if (msg.type === 'certs' || msg.type === 'challenges') return this.tls.apply(msg);
    if (msg.type === 'snapshot') {
      const previous = this.apps;
      this.apps = new Map();
      for (const route of msg.apps) this.apps.set(route.app, keepTargets(route, previous.get(route.app)));
      this.suffix = `.${this.domain ?? msg.domain}`;
      this.loaded = true;
    } else if (msg.type === 'set') {
      this.apps.set(msg.route.app, keepTargets(msg.route, this.apps.get(msg.route.app)));
    } else if (msg.type === 'remove') {
      this.apps.delete(msg.app);
    } else return;
    this.reindex();
  }

  /** The route for a Host header. */
  resolve(hostHeader: string | undefined): Resolved {
    if (!this.loaded) return { kind: 'no-table' };
    if (!hostHeader) return { kind: 'unknown' };
    const host = hostName(hostHeader);
    const route = this.apps.get(this.appOf(host) ?? '');
    if (!route) return { kind: 'unknown' };
    if (route.maintenance) return { kind: 'maintenance', app: route.app, tls: route.tls };
    if (!route.targets.length) return { kind: 'unavailable', app: route.app, code: route.unavailable, tls: route.tls };
    return { kind: 'ok', app: route.app, targets: route.targets, tls: route.tls };
  }

  /** The app's current targets (for a retry), or none. */
  targets(app: string): readonly RouteTarget[] {
    const route = this.apps.get(app);
    return route && !route.maintenance ? route.targets : [];
  }

  private appOf(host: string): string | undefined {
    if (host.endsWith(this.suffix)) {
      const name = host.slice(0, -this.suffix.length);
      if (name && !name.includes('.')) return name;
    }
    const exact = this.hosts.get(host);
    if (exact) return exact;
    const dot = host.indexOf('.');
    return dot > 0 ? this.hosts.get(`*${host.slice(dot)}`) : undefined;
  }

  private reindex(): void {
    const hosts = new Map<string, string>();
    for (const route of this.apps.values()) for (const domain of route.domains) hosts.set(domain, route.app);
    this.hosts = hosts;
  }
}
