import type { HeadError, RequestHead } from './http1/head.js';
import type { RequestRecord } from './log-line.js';
import type { RouterErrorCode } from './pages.js';
import type { UpstreamPool } from './pool.js';
import type { RouteTarget } from './protocol.js';

/** What a client connection needs from the router around it. */
export interface ConnectionContext {
  pool: UpstreamPool;
  /**
   * The route for a request, or an answer the router gives itself. `secure`: it came over HTTPS;
   * `extraHead`: fields the router adds to the response head (HSTS).
   */
  route(head: RequestHead, host: string, path: string, secure: boolean): { app: string; target: RouteTarget; extraHead?: string } | { answer: string; app?: string; code?: RouterErrorCode; close?: boolean };
  /** Another dyno of the app for a retry, passing over `failed` (its port, and the dyno restarted under its name); undefined if there is none. */
  retryTarget(app: string, failed: RouteTarget): RouteTarget | undefined;
  /** A complete error response for `code` (page included unless `head`). */
  errorPage(code: RouterErrorCode, app: string, requestId: string, head: boolean, close: boolean): string;
  /** A bare response for a refused request head (400, 414, 431, 501, 505), connection closed after. */
  refusal(err: HeadError): string;
  log(app: string, record: RequestRecord, time: number): void;
  trusted(address: string | undefined): boolean;
  timeoutMs: number;
  idleMs: number;
  headTimeoutMs: number;
}
