/**
 * Errors the stack layer throws itself. Errors of the layers below pass through unchanged and
 * keep their own types: `ConfigError` (bad models.yaml / .env), `DockerOpsError` (the daemon),
 * `LitellmSyncError`, `PrometheusSyncError`. None carries a secret.
 */

/** Base class of every error `@inferstack/stack` throws. */
export class StackError extends Error {
  /** What the user can do about it, when we know. */
  readonly hint?: string;
  /** Further lines that explain the message (one per problem). */
  readonly details: readonly string[];

  constructor(message: string, options: { hint?: string; details?: readonly string[]; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint;
    this.details = options.details ?? [];
  }
}

/**
 * The request cannot be carried out as asked (a missing key, a model that does not exist,
 * options that do not go together): nothing was changed. A CLI maps it to "bad input".
 */
export class StackInputError extends StackError {}

/** The models do not fit the GPUs that are there: nothing was started. */
export class GpuPreflightError extends StackInputError {}

/** A service (gateway, database, Prometheus...) did not come up as it should. */
export class ServiceError extends StackError {
  readonly service: string;

  constructor(service: string, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options);
    this.service = service;
  }
}
