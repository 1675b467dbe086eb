/** A user-facing failure: main() prints the message on stderr and exits 1, without a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly id = 'cli_error',
  ) {
    super(message);
  }
}

/** Parses a `-n` count, refusing anything but a whole number from 1 to `max`. */
export function parseCount(raw: string, max: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new CliError(`-n must be a whole number from 1 to ${max}, not ${JSON.stringify(raw)}.`);
  return n;
}
