import { type AppRoute, PROTOCOL_VERSION } from '../../router/protocol.js';
import { RouteTable } from '../../router/route-table.js';

/** A dyno address in a test's route table. */
export interface Target {
  host: string;
  port: number;
  /** The release its dyno runs; the dyno is named `web.<its index + 1>`. */
  release?: number;
}

/** What a test says an app routes to: its dynos, or none (503). */
export type TestRoute = { kind: 'ok'; targets: Target[] } | { kind: 'unavailable' };

/**
 * A router's route table fed by hand, as the route stream would feed it: `set` is one `set` message.
 * Apps answer at `<app>.localhost`.
 */
export class TestTable {
  readonly routes = new RouteTable();

  constructor() {
    this.routes.apply({ type: 'snapshot', version: PROTOCOL_VERSION, domain: 'localhost', apps: [] });
  }

  set(app: string, route: TestRoute, extra: { domains?: string[]; maintenance?: boolean; tls?: AppRoute['tls'] } = {}): void {
    const targets = route.kind === 'ok' ? route.targets.map((t, i) => ({ ...t, dyno: `web.${i + 1}` })) : [];
    this.routes.apply({ type: 'set', route: { app, targets, unavailable: 'H10', maintenance: extra.maintenance ?? false, domains: extra.domains ?? [], ...(extra.tls ? { tls: extra.tls } : {}) } });
  }
}
