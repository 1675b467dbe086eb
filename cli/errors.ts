/** A user-facing failure: main() prints the message on stderr and exits 1, without a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly id = 'cli_error',
  ) {
    super(message);
  }
}
