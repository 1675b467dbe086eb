/** A place the router can send a request. */
export interface Target {
  host: string;
  port: number;
}

/** What the router knows about an app: unknown (404), known with no web dyno up (503), or targets. */
export type Route = { kind: 'unknown' } | { kind: 'unavailable' } | { kind: 'ok'; targets: readonly Target[] };

/** The only thing the router consumes: a lookup from app name to its web dynos. */
export interface RouteTable {
  resolve(app: string): Route;
}
