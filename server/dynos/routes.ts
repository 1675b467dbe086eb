import type { AppRoute, RouteTarget, ServerMessage, TlsCertificate, TlsChallenges, Unavailable } from '../../router/protocol.js';

/** A change to the route table, as the route stream sends it. */
export type RouteChange = Extract<ServerMessage, { type: 'set' | 'remove' | 'certs' | 'challenges' }>;

/**
 * The authoritative route table: app → its up web dynos, maintenance, custom domains and HTTPS
 * settings, and the certificates and ACME challenges routers serve. The reconciler, the domain,
 * maintenance and certs commands write it; every router reads it through the route stream
 * (server/route-stream.ts), which sends a snapshot and then each change to subscribers.
 */
export class Routes {
  private readonly table = new Map<string, AppRoute>();
  private readonly listeners = new Set<(change: RouteChange) => void>();
  private certs: RouteChange & { type: 'certs' } = { type: 'certs', certs: [] };
  private challenges: RouteChange & { type: 'challenges' } = { type: 'challenges', http01: {}, tlsAlpn01: [] };

  /**
   * Adds an app with no dyno up yet. `restoring` (server start-up) tells routers that already route
   * it to keep their entry until the app's dynos are found again.
   */
  addApp(app: string, opts: { maintenance?: boolean; domains?: string[]; restoring?: boolean } = {}): void {
    if (this.table.has(app)) return;
    this.put({ app, targets: [], unavailable: 'H14', maintenance: opts.maintenance ?? false, domains: opts.domains ?? [], ...(opts.restoring ? { restoring: true } : {}) });
  }

  removeApp(app: string): void {
    if (!this.table.delete(app)) return;
    this.emit({ type: 'remove', app });
  }

  /** The up web dynos; with none, `unavailable` says why (H10 crashed or starting, H14 none wanted). */
  setTargets(app: string, targets: readonly RouteTarget[], unavailable: Unavailable = 'H14'): void {
    this.update(app, { targets: [...targets], unavailable, restoring: undefined });
  }

  setMaintenance(app: string, maintenance: boolean): void {
    this.update(app, { maintenance });
  }

  setDomains(app: string, domains: readonly string[]): void {
    this.update(app, { domains: [...domains] });
  }

  /** An app's HTTPS redirect and HSTS (AppRoute.tls); undefined: neither. */
  setTls(app: string, tls: AppRoute['tls']): void {
    this.update(app, { tls: tls && { ...tls } });
  }

  /** Replaces the whole set of certificates routers serve (each router replaces its own). */
  setCerts(certs: readonly TlsCertificate[]): void {
    this.certs = { type: 'certs', certs: certs.map((c) => ({ ...c, hostnames: [...c.hostnames] })) };
    this.emit(this.certs);
  }

  /** Replaces the whole set of ACME challenges in flight. */
  setChallenges(c: TlsChallenges): void {
    this.challenges = { type: 'challenges', http01: { ...c.http01 }, tlsAlpn01: c.tlsAlpn01.map((a) => ({ ...a })) };
    this.emit(this.challenges);
  }

  /** What a router gets right after the snapshot: the certificates, then the challenges. */
  tlsMessages(): RouteChange[] {
    return [this.certs, this.challenges];
  }

  /** Ends start-up's `restoring` for an app whose restore ended without publishing targets. */
  settle(app: string): void {
    if (this.table.get(app)?.restoring) this.update(app, { restoring: undefined });
  }

  get(app: string): AppRoute | undefined {
    return this.table.get(app);
  }

  snapshot(): AppRoute[] {
    return [...this.table.values()];
  }

  /** Calls `listener` with every later change, in order; returns the unsubscribe. */
  subscribe(listener: (change: RouteChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private update(app: string, patch: Partial<AppRoute>): void {
    const current = this.table.get(app);
    if (!current) return;
    const next: AppRoute = { ...current, ...patch };
    if (next.restoring === undefined) delete next.restoring;
    if (next.tls === undefined) delete next.tls;
    this.put(next);
  }

  private put(route: AppRoute): void {
    this.table.set(route.app, route);
    this.emit({ type: 'set', route });
  }

  private emit(change: RouteChange): void {
    for (const listener of this.listeners) listener(change);
  }
}
