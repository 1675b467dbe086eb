/**
 * Error classes with a stable `id` (the JSON error id the API answers with), an HTTP status, and a
 * message that tells the user what to do next. Anything thrown that is not a PaasError is a bug.
 */
export class PaasError extends Error {
  constructor(
    readonly id: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class NotFoundError extends PaasError {
  constructor(message: string) {
    super('not_found', 404, message);
  }
}

export class InvalidParamsError extends PaasError {
  constructor(message: string) {
    super('invalid_params', 422, message);
  }
}

export class BadRequestError extends PaasError {
  constructor(message: string) {
    super('bad_request', 400, message);
  }
}

export class UnauthorizedError extends PaasError {
  constructor(message = 'Invalid credentials. Run `paas login` or set PAAS_API_TOKEN to the token the server printed on first start.') {
    super('unauthorized', 401, message);
  }
}

export class ConflictError extends PaasError {
  constructor(id: string, message: string) {
    super(id, 409, message);
  }
}

/** A store we cannot open safely: corrupt, or written by a newer paas. Start-up stops and the file is left as it is. */
export class StoreError extends PaasError {
  constructor(message: string) {
    super('store_unusable', 500, message);
  }
}

/**
 * A build failed because of the app's source or its dependencies; the message is shown to the pusher.
 * Not an API error: it ends a push (or a stack build), so it carries no HTTP status.
 */
export class BuildError extends Error {
  readonly id = 'build_failed';
}

/** A release did not go live (its release phase failed, a dyno did not boot or died while settling); the message is shown to the pusher. */
export class DeployError extends Error {
  readonly id = 'deploy_failed';
}

/** A setting in the environment paas cannot use; start-up stops with this message. */
export class ConfigError extends Error {}

/**
 * The data dir's file system is full, or too full to start what was asked (a build below
 * PAAS_MIN_FREE_DISK): 507 on the API, the push's rejection in git. Nothing was half-written.
 */
export class InsufficientStorageError extends PaasError {
  constructor(message: string) {
    super('insufficient_storage', 507, message);
  }
}
