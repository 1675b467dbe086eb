import type { AppRoute, RouteTarget, TlsCertificate, TlsChallenges, Unavailable } from '../../router/protocol.js';

/** A change to the route table, as the route stream sends it. */
export type RouteChange = { type: 'set'; route: AppRoute } | { type: 'remove'; app: string } | { type: 'certs'; certs: TlsCertificate[] } | ({ type: 'challenges' } & TlsChallenges);

/**
 * The authoritative route table: app → its up web dynos, maintenance and custom domains. The
 * reconciler, the domain and maintenance commands write it; every router reads it through the route
 * stream (server/route-stream.ts), which sends a snapshot and then each change to subscribers.
 */
export class Routes {
  private readonly table = new Map<string, AppRoute>();
  private readonly listeners = new Set<(change: RouteChange) => void>();
  private certificates: TlsCertificate[] = [];
  private inFlight: TlsChallenges = { http01: {}, tlsAlpn01: [] };

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
    for (const listener of this.listeners) listener({ type: 'remove', app });
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

  /** The app's HTTPS settings (redirect, HSTS); undefined: neither. */
  setTls(app: string, tls: AppRoute['tls']): void {
    this.update(app, { tls });
  }

  /** Replaces the whole set of certificates routers serve. */
  setCerts(certs: TlsCertificate[]): void {
    this.certificates = [...certs];
    this.emit({ type: 'certs', certs: this.certificates });
  }

  /** Replaces the whole set of ACME challenges routers answer. */
  setChallenges(c: TlsChallenges): void {
    this.inFlight = { http01: { ...c.http01 }, tlsAlpn01: [...c.tlsAlpn01] };
    this.emit({ type: 'challenges', ...this.inFlight });
  }

  /** The certificates routers serve now. */
  certs(): TlsCertificate[] {
    return this.certificates;
  }

  /** The ACME challenges in flight now. */
  challenges(): TlsChallenges {
    return this.inFlight;
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
