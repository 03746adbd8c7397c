/**
 * Errors thrown by `@inferstack/prometheus-sync`. All extend {@link PrometheusSyncError}, so a
 * caller catches the package's errors with one `instanceof` and still tells them apart by class.
 *
 * Monitoring is never fatal to a deployment: the CLI reports these as warnings.
 */

/** Base class of every error this package throws. */
export class PrometheusSyncError extends Error {
  /** A short suggestion for the user (one line), when there is an obvious next step. */
  readonly hint?: string;

  constructor(message: string, options?: { cause?: unknown; hint?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    if (options?.hint !== undefined) this.hint = options.hint;
  }
}

/** Prometheus did not answer at all: connection refused, DNS failure, or no answer in time. */
export class PrometheusUnreachableError extends PrometheusSyncError {
  readonly baseUrl: string;
  /** What we were doing, e.g. `POST /-/reload`. */
  readonly operation: string;
  /** Node's error code when there was one (`ECONNREFUSED`, `ENOTFOUND`, ...), or `TIMEOUT`. */
  readonly code?: string;

  constructor(init: { baseUrl: string; operation: string; code?: string }, options?: { cause?: unknown }) {
    super(`Prometheus at ${init.baseUrl} cannot be reached (${init.operation}${init.code ? `: ${init.code}` : ''})`, {
      ...options,
      hint: 'is the Prometheus container running and its port published? Targets are written anyway and are read when it starts',
    });
    this.baseUrl = init.baseUrl;
    this.operation = init.operation;
    if (init.code !== undefined) this.code = init.code;
  }
}

/**
 * `POST /-/reload` is refused (403 or 404): Prometheus runs without `--web.enable-lifecycle`,
 * or behind a proxy that hides it. Fall back to SIGHUP (e.g. through the Docker API); file_sd
 * changes are also picked up without a reload, through Prometheus' file watch.
 */
export class ReloadUnavailableError extends PrometheusSyncError {
  readonly status: number;

  constructor(init: { status: number; body: string }) {
    super(`Prometheus refused POST /-/reload (${init.status}${init.body ? `: ${init.body.trim().slice(0, 200)}` : ''})`, {
      hint: 'start Prometheus with --web.enable-lifecycle, or send it SIGHUP to reload',
    });
    this.status = init.status;
  }
}

/** Prometheus accepted the reload request but could not load its configuration (HTTP 500). */
export class ReloadFailedError extends PrometheusSyncError {
  /** Prometheus' own message, e.g. `failed to reload config: couldn't load configuration ...`. */
  readonly prometheusMessage: string;

  constructor(message: string) {
    super(`Prometheus failed to reload its configuration: ${message.trim().slice(0, 500)}`, {
      hint: "check the generated prometheus.yml with 'promtool check config'",
    });
    this.prometheusMessage = message.trim();
  }
}

/** Prometheus answered with an unexpected status or body. */
export class PrometheusApiError extends PrometheusSyncError {
  readonly status: number;
  readonly method: string;
  /** Path of the request, without query. */
  readonly path: string;
  /** Prometheus' `errorType` (`bad_data`, `timeout`, `execution`, ...) when the body had one. */
  readonly errorType?: string;
  /** Prometheus' `error` text, or the start of the body. */
  readonly prometheusMessage: string;

  constructor(init: { status: number; method: string; path: string; errorType?: string; message: string }) {
    super(`Prometheus ${init.method} ${init.path} answered ${init.status}: ${init.message}`);
    this.status = init.status;
    this.method = init.method;
    this.path = init.path;
    this.prometheusMessage = init.message;
    if (init.errorType !== undefined) this.errorType = init.errorType;
  }
}

/** A PromQL query was rejected: a parse error (`bad_data`) or an evaluation error. */
export class PrometheusQueryError extends PrometheusApiError {
  readonly expr: string;

  constructor(init: { status: number; errorType?: string; message: string; expr: string }) {
    super({ ...init, method: 'GET', path: '/api/v1/query' });
    this.expr = init.expr;
  }
}

/** The targets file could not be written (permissions, a full disk, a path that is a directory). */
export class TargetsFileError extends PrometheusSyncError {
  readonly path: string;

  constructor(path: string, options: { cause: unknown }) {
    const code = (options.cause as { code?: unknown } | undefined)?.code;
    super(`cannot write the Prometheus targets file ${path}${typeof code === 'string' ? ` (${code})` : ''}`, options);
    this.path = path;
  }
}

/** Input that cannot be turned into a valid target list or Prometheus configuration. */
export class PrometheusConfigError extends PrometheusSyncError {
  /** Every problem found, one line each. */
  readonly problems: string[];

  constructor(problems: string[]) {
    super(problems.length === 1 ? (problems[0] ?? '') : `${problems.length} problems: ${problems.join('; ')}`);
    this.problems = problems;
  }
}
