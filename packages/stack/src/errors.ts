/**
 * Errors the stack layer throws itself. Errors of the layers below pass through unchanged and
 * keep their own types: `ConfigError` (bad models.yaml / .env), `DockerOpsError` (the daemon),
 * `LitellmSyncError`, `PrometheusSyncError`. None carries a secret.
 */

import type { NameConflict } from '@inferstack/docker-ops';

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

/** A name a model's container needs is held by a container that is not the stack's (another stack's, say). */
export interface NameConflictOnHost extends NameConflict {
  /** The Docker host it was found on. */
  host: string;
}

/**
 * Models of the stack need container names (`inference-<key>`, and `-next` while one is
 * replaced) that containers not its own hold: another stack's model of the same key, one
 * another stack adopted, or a container that is not serve's. Found by the plan: nothing was
 * changed, and the other stack's containers are never touched.
 */
export class ContainerNameConflictError extends StackInputError {
  readonly conflicts: readonly NameConflictOnHost[];

  constructor(stack: string, conflicts: readonly NameConflictOnHost[], options: { details: readonly string[]; hint: string }) {
    const n = conflicts.length;
    super(
      n === 1
        ? `${options.details[0]}; nothing was changed`
        : `${n} container names that models of stack ${stack} need are held by containers that are not its own; nothing was changed`,
      { hint: options.hint, details: n === 1 ? [] : options.details },
    );
    this.conflicts = conflicts;
  }
}

/** A service (gateway, database, Prometheus...) did not come up as it should. */
export class ServiceError extends StackError {
  readonly service: string;

  constructor(service: string, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options);
    this.service = service;
  }
}
