/**
 * `paas run`'s websocket (GET /v1/apps/:app/run, upgraded). Query: `arg` (each word of the command,
 * in order), `env` (KEY=VALUE, repeatable), `tty` (ROWSxCOLS: a pseudo-terminal), `timeout` (s).
 * Binary frames carry bytes, their first byte naming the channel; text frames are JSON controls.
 */
export const CHANNEL = { stdin: 0, stdout: 1, stderr: 2 } as const;

/** What the CLI sends besides stdin. */
export type ClientControl = { type: 'eof' } | { type: 'resize'; rows: number; cols: number };

/** What the server sends besides output: the dyno's name once it runs, and how it ended. */
export type ServerControl = { type: 'started'; name: string; command: string; release: number } | { type: 'exit'; code: number | null; signal: string | null };

/** The exit code a shell would give: the command's, or 128 + n for a death by signal n. */
export function shellExitCode(status: { code: number | null; signal: string | null }, signals: Record<string, number>): number {
  if (status.code !== null) return status.code;
  return 128 + (status.signal ? (signals[status.signal] ?? 1) : 1);
}
