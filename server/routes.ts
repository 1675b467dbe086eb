import type { Route, RouteTable, Target } from '../router/route-table.js';

/** The in-memory route table: app name → the web dynos that are up. Read on every request. */
export class Routes implements RouteTable {
  private readonly table = new Map<string, readonly Target[]>();

  addApp(app: string): void {
    if (!this.table.has(app)) this.table.set(app, []);
  }

  removeApp(app: string): void {
    this.table.delete(app);
  }

  setTargets(app: string, targets: readonly Target[]): void {
    this.table.set(app, targets);
  }

  resolve(app: string): Route {
    const targets = this.table.get(app);
    if (!targets) return { kind: 'unknown' };
    return targets.length ? { kind: 'ok', targets } : { kind: 'unavailable' };
  }
}
