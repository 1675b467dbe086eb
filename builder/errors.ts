/** A build failed because of the app's source or its dependencies; the message is shown to the pusher. */
export class BuildError extends Error {
  readonly id = 'build_failed';
}
