/**
 * The pre-receive hook streams the server's build output line by line; the last line carries the
 * outcome after this marker, as JSON `{ ok, message? }`.
 */
export const RESULT_MARKER = '\u0000paas-result ';

export interface HookResult {
  ok: boolean;
  message?: string;
}
