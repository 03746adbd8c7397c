import { setTimeout as delay } from 'node:timers/promises';

// ky is loaded with the first request: its module checks the platform's fetch when evaluated,
// which loads Node's undici, and a CLI that never talks HTTP (status without a gateway) should
// not pay for that.
let kyModule: Promise<typeof import('ky')> | undefined;
const loadKy = (): Promise<typeof import('ky')> => (kyModule ??= import('ky'));
import {
  PrometheusApiError,
  PrometheusQueryError,
  PrometheusSyncError,
  PrometheusUnreachableError,
  ReloadFailedError,
  ReloadUnavailableError,
} from './errors.js';
import { asStringRecord, isRecord, reportTargets, toActiveTarget, type TargetsReport, type TargetsResult, type WaitUntil } from './target-report.js';

/** Options of {@link createPrometheusClient}. */
export interface PrometheusClientOptions {
  /** Base URL of Prometheus as seen from here, e.g. `http://127.0.0.1:9090` (a route prefix may follow). */
  baseUrl: string;
  /** Timeout of one HTTP request, in ms. @default 5000 */
  timeoutMs?: number;
  /** Timeout of `POST /-/reload`, which answers only once the configuration is applied, in ms. @default 30000 */
  reloadTimeoutMs?: number;
  /** Extra request headers, e.g. `authorization` for a Prometheus behind basic auth. */
  headers?: Record<string, string>;
  /** The `fetch` to use (tests inject one). @default globalThis.fetch */
  fetch?: typeof globalThis.fetch;
  /** Waits between polls; rejects when `signal` aborts. @default node:timers/promises setTimeout */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Clock in ms, for wait budgets. @default Date.now */
  now?: () => number;
}

/** Per-call options. */
export interface CallOptions {
  signal?: AbortSignal;
}

/** A sample: Unix time in seconds, and the value as Prometheus prints it (`"NaN"`, `"+Inf"` possible). */
export type Sample = [time: number, value: string];

/** The `data` of `GET /api/v1/query`, by result type. */
export type QueryResult =
  | { resultType: 'vector'; result: Array<{ metric: Record<string, string>; value: Sample }> }
  | { resultType: 'matrix'; result: Array<{ metric: Record<string, string>; values: Sample[] }> }
  | { resultType: 'scalar'; result: Sample }
  | { resultType: 'string'; result: Sample };

/** Options of {@link PrometheusClient.query}. */
export interface QueryOptions extends CallOptions {
  /** Evaluation time. @default now (Prometheus' clock) */
  time?: Date | number;
}

/** Options of {@link PrometheusClient.waitForTargets}. */
export interface WaitForTargetsOptions extends CallOptions {
  /**
   * Give up after this long, in ms; the report then says `settled: false`. Prometheus 2.x hands
   * discovery changes to its scrape manager at most every 5 s, and the scrape manager applies
   * them at most every 5 s: a new or removed target shows up after 0–10 s.
   * @default 20000
   */
  timeoutMs?: number;
  /**
   * Only look at this job (scrape pool). Its targets that are not expected are stale and must
   * disappear too. Without it, targets are looked up in every job and extra ones are ignored.
   */
  job?: string;
  /**
   * `known`: every expected target is listed; `scraped`: and each was scraped once (health `up`
   * or `down`); `up`: and each is up.
   * @default 'known'
   */
  until?: WaitUntil;
  /** Pause between polls, in ms. @default 250 */
  intervalMs?: number;
}

/** Options of {@link PrometheusClient.waitUntilReady}. */
export interface WaitUntilReadyOptions extends CallOptions {
  /** Give up after this long, in ms. @default 30000 */
  timeoutMs?: number;
  /** Pause between probes, in ms. @default 200 */
  intervalMs?: number;
}

/** A typed client for the parts of Prometheus' HTTP API that inferstack uses. */
export interface PrometheusClient {
  /** The base URL the client talks to (no trailing slash). */
  readonly baseUrl: string;
  /** `GET /-/ready`: true when Prometheus serves queries, false while it starts (503). */
  ready(options?: CallOptions): Promise<boolean>;
  /**
   * Polls {@link ready} until true. Connection errors mean "not yet".
   * @throws {PrometheusUnreachableError} not ready in time (the last failure is the cause)
   */
  waitUntilReady(options?: WaitUntilReadyOptions): Promise<void>;
  /**
   * `POST /-/reload`: re-read the configuration (and every file_sd file) now. Answers once applied.
   * @throws {ReloadUnavailableError} 403/404: the lifecycle API is off (`--web.enable-lifecycle`); fall back to SIGHUP
   * @throws {ReloadFailedError} 500: the configuration does not load (Prometheus keeps the old one)
   */
  reload(options?: CallOptions): Promise<void>;
  /** `GET /api/v1/targets`. @default state 'active' */
  targets(options?: CallOptions & { state?: 'active' | 'dropped' | 'any' }): Promise<TargetsResult>;
  /**
   * `GET /api/v1/query`: an instant query.
   * @throws {PrometheusQueryError} the expression does not parse (`bad_data`) or fails to evaluate
   */
  query(expr: string, options?: QueryOptions): Promise<QueryResult>;
  /**
   * Polls `GET /api/v1/targets` until every expected target is listed (and, with `job`, no other
   * target is left in that job), optionally until each was scraped or is up. Use it after a
   * reload to learn when Prometheus applied a new target list.
   *
   * Resolves on timeout too (`settled: false`): the report says what is missing.
   * @throws {PrometheusUnreachableError} Prometheus never answered during the wait
   */
  waitForTargets(expected: readonly string[], options?: WaitForTargetsOptions): Promise<TargetsReport>;
}

interface RequestSpec {
  method: 'GET' | 'POST';
  path: string;
  searchParams?: Record<string, string>;
  signal?: AbortSignal | undefined;
  timeoutMs?: number;
}

/** Rejects with the signal's own reason when aborted (timers/promises would give a generic AbortError). */
const defaultSleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  delay(ms, undefined, signal ? { signal } : undefined).catch((error: unknown) => {
    throw signal?.aborted ? signal.reason : error;
  });

/** Node's error code of a failed fetch (undici puts it on `cause`, sometimes inside an AggregateError). */
function networkErrorCode(error: unknown): string | undefined {
  let e: unknown = error;
  for (let depth = 0; depth < 4 && e && typeof e === 'object'; depth++) {
    const { code, errors, cause } = e as { code?: unknown; errors?: unknown; cause?: unknown };
    if (typeof code === 'string') return code;
    if (Array.isArray(errors) && errors.length) e = errors[0];
    else e = cause;
  }
  return undefined;
}

interface PrometheusEnvelope {
  status?: unknown;
  data?: unknown;
  errorType?: unknown;
  error?: unknown;
}

function parseEnvelope(text: string): PrometheusEnvelope | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' ? (value as PrometheusEnvelope) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Creates a Prometheus HTTP API client. One attempt per call (no retries): callers that wait
 * use {@link PrometheusClient.waitUntilReady} or {@link PrometheusClient.waitForTargets}.
 *
 * @example
 * const prometheus = createPrometheusClient({ baseUrl: 'http://127.0.0.1:9090' });
 * await prometheus.reload();
 * const report = await prometheus.waitForTargets(['inference-qwen:8000'], { job: 'vllm' });
 */
export function createPrometheusClient(options: PrometheusClientOptions): PrometheusClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]/.test(baseUrl)) {
    throw new PrometheusSyncError(`Prometheus base URL must start with http:// or https://, got "${options.baseUrl}"`);
  }
  const timeoutMs = options.timeoutMs ?? 5_000;
  const reloadTimeoutMs = options.reloadTimeoutMs ?? 30_000;
  const sleep = options.sleep ?? defaultSleep;
  const now = options.now ?? Date.now;

  async function request(spec: RequestSpec): Promise<{ status: number; text: string }> {
    const operation = `${spec.method} ${spec.path}`;
    const ky = await loadKy();
    let response: Response;
    try {
      // One request, one attempt, no instance kept: a command asks Prometheus a few times.
      response = await ky.default(`${baseUrl}${spec.path}`, {
        method: spec.method,
        retry: 0,
        throwHttpErrors: false,
        timeout: spec.timeoutMs ?? timeoutMs,
        headers: { accept: 'application/json', ...options.headers },
        ...(spec.searchParams ? { searchParams: spec.searchParams } : {}),
        ...(spec.signal ? { signal: spec.signal } : {}),
        ...(options.fetch ? { fetch: options.fetch } : {}),
      });
    } catch (error) {
      if (spec.signal?.aborted) throw spec.signal.reason ?? error;
      const code = error instanceof ky.TimeoutError ? 'TIMEOUT' : networkErrorCode(error);
      throw new PrometheusUnreachableError({ baseUrl, operation, ...(code ? { code } : {}) }, { cause: error });
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      if (spec.signal?.aborted) throw spec.signal.reason ?? error;
      throw new PrometheusUnreachableError({ baseUrl, operation, code: networkErrorCode(error) ?? 'BODY' }, { cause: error });
    }
    return { status: response.status, text };
  }

  /** The `data` of a successful API answer; a typed error otherwise. */
  async function api(spec: RequestSpec, expr?: string): Promise<unknown> {
    const { status, text } = await request(spec);
    const body = parseEnvelope(text);
    if (status >= 200 && status < 300 && body?.status === 'success') return body.data;
    const message = typeof body?.error === 'string' ? body.error : text.trim().slice(0, 300) || `HTTP ${status}`;
    const errorType = typeof body?.errorType === 'string' ? body.errorType : undefined;
    if (expr !== undefined && body?.status === 'error') {
      throw new PrometheusQueryError({ status, message, expr, ...(errorType ? { errorType } : {}) });
    }
    throw new PrometheusApiError({ status, method: spec.method, path: spec.path, message, ...(errorType ? { errorType } : {}) });
  }

  const client: PrometheusClient = {
    baseUrl,

    async ready(call) {
      const { status, text } = await request({ method: 'GET', path: '/-/ready', signal: call?.signal });
      if (status === 200) return true;
      if (status === 503) return false;
      throw new PrometheusApiError({ status, method: 'GET', path: '/-/ready', message: text.trim().slice(0, 200) || `HTTP ${status}` });
    },

    async waitUntilReady(wait = {}) {
      const { timeoutMs: budget = 30_000, intervalMs = 200, signal } = wait;
      const started = now();
      let last: unknown;
      for (;;) {
        try {
          if (await client.ready({ signal })) return;
          last = undefined;
        } catch (error) {
          if (signal?.aborted) throw signal.reason ?? error;
          if (!(error instanceof PrometheusUnreachableError)) throw error;
          last = error;
        }
        if (now() - started + intervalMs > budget) {
          throw new PrometheusUnreachableError(
            { baseUrl, operation: `GET /-/ready for ${budget} ms`, code: last ? (last as PrometheusUnreachableError).code ?? 'NOT_READY' : 'NOT_READY' },
            last ? { cause: last } : undefined,
          );
        }
        await sleep(intervalMs, signal);
      }
    },

    async reload(call) {
      const { status, text } = await request({ method: 'POST', path: '/-/reload', signal: call?.signal, timeoutMs: reloadTimeoutMs });
      if (status >= 200 && status < 300) return;
      if (status === 403 || status === 404) throw new ReloadUnavailableError({ status, body: text });
      if (status === 500) throw new ReloadFailedError(text || 'HTTP 500');
      throw new PrometheusApiError({ status, method: 'POST', path: '/-/reload', message: text.trim().slice(0, 200) || `HTTP ${status}` });
    },

    async targets(call) {
      const state = call?.state ?? 'active';
      const data = await api({ method: 'GET', path: '/api/v1/targets', searchParams: { state }, signal: call?.signal });
      if (!isRecord(data)) {
        throw new PrometheusApiError({ status: 200, method: 'GET', path: '/api/v1/targets', message: 'answer has no data object' });
      }
      const active = Array.isArray(data.activeTargets) ? data.activeTargets : [];
      const dropped = Array.isArray(data.droppedTargets) ? data.droppedTargets : [];
      return {
        activeTargets: active.map(toActiveTarget),
        droppedTargets: dropped.map((d) => ({ discoveredLabels: asStringRecord(isRecord(d) ? d.discoveredLabels : undefined) })),
      };
    },

    async query(expr, call) {
      const searchParams: Record<string, string> = { query: expr };
      if (call?.time !== undefined) {
        const ms = call.time instanceof Date ? call.time.getTime() : call.time;
        searchParams.time = String(ms / 1000);
      }
      const data = await api({ method: 'GET', path: '/api/v1/query', searchParams, signal: call?.signal }, expr);
      if (!isRecord(data) || typeof data.resultType !== 'string' || !('result' in data)) {
        throw new PrometheusApiError({ status: 200, method: 'GET', path: '/api/v1/query', message: 'answer has no resultType/result' });
      }
      return data as unknown as QueryResult;
    },

    async waitForTargets(expected, wait = {}) {
      const { timeoutMs: budget = 20_000, intervalMs = 250, signal, job, until = 'known' } = wait;
      const started = now();
      let report: TargetsReport | undefined;
      let lastError: unknown;
      for (;;) {
        try {
          const { activeTargets } = await client.targets({ signal });
          report = reportTargets(expected, activeTargets, { until, elapsedMs: now() - started, ...(job === undefined ? {} : { job }) });
          if (report.settled) return report;
        } catch (error) {
          if (signal?.aborted) throw signal.reason ?? error;
          if (!(error instanceof PrometheusUnreachableError)) throw error;
          lastError = error;
        }
        if (now() - started + intervalMs > budget) {
          if (report) return { ...report, elapsedMs: now() - started };
          throw lastError;
        }
        await sleep(intervalMs, signal);
      }
    },
  };
  return client;
}
