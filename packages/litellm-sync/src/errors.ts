/**
 * Errors thrown by `@inferstack/litellm-sync`. All extend {@link LitellmSyncError}, so a caller can
 * catch the package's errors with one `instanceof` and still tell them apart by class.
 *
 * No error message ever contains the master key: it only travels in the `Authorization` header.
 */

/** Base class of every error this package throws. */
export class LitellmSyncError extends Error {
  /** A short suggestion for the user (one line), when there is an obvious next step. */
  readonly hint?: string;

  constructor(message: string, options?: { cause?: unknown; hint?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    if (options?.hint !== undefined) this.hint = options.hint;
  }
}

/** Fields LiteLLM put in an error body, normalised from both of its error shapes. */
export interface LitellmErrorBody {
  /** LiteLLM's message (from `error.message` or FastAPI's `detail`). */
  message: string;
  /** `error.type`, e.g. `auth_error`, `no_db_connection`. */
  type?: string;
  /** `error.code` (LiteLLM sends it as a string, usually the HTTP status). */
  code?: string;
  /** `error.param`. */
  param?: string;
}

/** Context of an HTTP error: which request failed and what LiteLLM answered. */
export interface LitellmHttpErrorInit extends LitellmErrorBody {
  status: number;
  method: string;
  /** Path of the request (no host, no query secrets: the key never goes into URLs). */
  path: string;
}

/** LiteLLM answered with a non-2xx status. Keeps the status and LiteLLM's own message. */
export class LitellmHttpError extends LitellmSyncError {
  readonly status: number;
  readonly method: string;
  readonly path: string;
  /** LiteLLM's message, without our prefix. */
  readonly litellmMessage: string;
  readonly type?: string;
  readonly code?: string;
  readonly param?: string;

  constructor(init: LitellmHttpErrorInit, options?: { cause?: unknown; hint?: string }) {
    super(`LiteLLM ${init.method} ${init.path} answered ${init.status}: ${init.message}`, options);
    this.status = init.status;
    this.method = init.method;
    this.path = init.path;
    this.litellmMessage = init.message;
    if (init.type !== undefined) this.type = init.type;
    if (init.code !== undefined) this.code = init.code;
    if (init.param !== undefined) this.param = init.param;
  }
}

/**
 * The proxy refused our credentials: 401 (no or wrong key), or 400 `no_db_connection`, which is
 * what a proxy without a database answers for a key that is not its master key.
 */
export class LitellmAuthError extends LitellmHttpError {
  constructor(init: LitellmHttpErrorInit, options?: { cause?: unknown }) {
    super(init, {
      ...options,
      hint: 'check the LiteLLM master key (LITELLM_MASTER_KEY) given to inferstack and to the gateway',
    });
  }
}

/**
 * A model-management endpoint answered 500 "No DB Connected": the proxy runs without a database,
 * so its model list can only change through its config file.
 */
export class LitellmNoDatabaseError extends LitellmHttpError {
  constructor(init: LitellmHttpErrorInit, options?: { cause?: unknown }) {
    super(init, {
      ...options,
      hint: 'this LiteLLM has no database: use config-file sync (gateway sync: config), or give it DATABASE_URL and STORE_MODEL_IN_DB=True',
    });
  }
}

/** The proxy could not be reached (connection refused or reset), after the allowed retries. */
export class LitellmUnreachableError extends LitellmSyncError {
  readonly baseUrl: string;
  /** The system error code, e.g. `ECONNREFUSED`, when known. */
  readonly code?: string;
  readonly attempts: number;

  constructor(init: { baseUrl: string; code?: string; attempts: number }, options?: { cause?: unknown }) {
    super(
      `LiteLLM at ${init.baseUrl} is unreachable${init.code ? ` (${init.code})` : ''} after ${init.attempts} attempt${init.attempts === 1 ? '' : 's'}`,
      { ...options, hint: 'is the gateway running and is the URL right?' },
    );
    this.baseUrl = init.baseUrl;
    if (init.code !== undefined) this.code = init.code;
    this.attempts = init.attempts;
  }
}

/** A request, or waiting for the proxy, took longer than allowed. */
export class LitellmTimeoutError extends LitellmSyncError {
  readonly timeoutMs: number;
  /** What timed out, e.g. `GET /model/info` or `waiting for readiness`. */
  readonly operation: string;

  constructor(init: { operation: string; timeoutMs: number }, options?: { cause?: unknown; hint?: string }) {
    super(`LiteLLM: ${init.operation} timed out after ${init.timeoutMs} ms`, options);
    this.timeoutMs = init.timeoutMs;
    this.operation = init.operation;
  }
}

/** LiteLLM answered 2xx with a body we do not understand (wrong URL, or an incompatible version). */
export class LitellmResponseError extends LitellmSyncError {
  readonly path: string;

  constructor(init: { path: string; problem: string }, options?: { cause?: unknown }) {
    super(`LiteLLM ${init.path}: unexpected response: ${init.problem}`, {
      ...options,
      hint: 'is the URL a LiteLLM proxy, and is its version supported?',
    });
    this.path = init.path;
  }
}

/** A LiteLLM config file could not be parsed or has a `model_list` that is not a list. */
export class LitellmConfigError extends LitellmSyncError {
  /** The file, when known. */
  readonly file?: string;
  /** 1-based position of the problem, when the YAML parser reported one. */
  readonly line?: number;
  readonly column?: number;

  constructor(
    init: { problem: string; file?: string; line?: number; column?: number },
    options?: { cause?: unknown },
  ) {
    const where = init.file
      ? `${init.file}${init.line !== undefined ? `:${init.line}:${init.column ?? 1}` : ''}: `
      : init.line !== undefined
        ? `line ${init.line}:${init.column ?? 1}: `
        : '';
    super(`LiteLLM config: ${where}${init.problem}`, options);
    if (init.file !== undefined) this.file = init.file;
    if (init.line !== undefined) this.line = init.line;
    if (init.column !== undefined) this.column = init.column;
  }
}
