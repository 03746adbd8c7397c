import type { KyInstance } from 'ky';

// ky is loaded with the first request: its module checks the platform's fetch when evaluated,
// which loads Node's undici, and a CLI that never talks HTTP (status without a gateway) should
// not pay for that.
let kyModule: Promise<typeof import('ky')> | undefined;
const loadKy = (): Promise<typeof import('ky')> => (kyModule ??= import('ky'));
import { httpErrorFor, parseErrorBody, redact } from './_error-body.js';
import {
  backoffDelay,
  defaultSleep,
  isNetworkError,
  isRetryableCode,
  networkErrorCode,
  type ResolvedRetry,
  RETRYABLE_STATUSES,
  type RetryOptions,
  resolveRetry,
} from './_retry.js';
import {
  LitellmHttpError,
  LitellmResponseError,
  LitellmSyncError,
  LitellmTimeoutError,
  LitellmUnreachableError,
} from './errors.js';
import type { GatewayEntry } from './types.js';

export type { RetryOptions } from './_retry.js';

/** Options of {@link createLitellmClient}. */
export interface LitellmClientOptions {
  /** Base URL of the proxy as seen from here, e.g. `http://127.0.0.1:4000`. */
  baseUrl: string;
  /** LiteLLM master key. Sent only as `Authorization: Bearer`; never put in URLs or messages. */
  masterKey?: string;
  /** Timeout of one HTTP attempt, in ms. @default 10000 */
  timeoutMs?: number;
  /**
   * Retries for failures that can succeed on retry: connection refused or reset (the proxy is
   * starting) and 502/503/504. Never for other 4xx/5xx. `false` disables retries.
   * @default { attempts: 6, initialDelayMs: 250, factor: 2, maxDelayMs: 4000, maxElapsedMs: 20000 }
   */
  retry?: RetryOptions | false;
  /** The `fetch` to use (tests inject one). @default globalThis.fetch */
  fetch?: typeof globalThis.fetch;
  /** Waits between retries and polls; rejects when `signal` aborts. @default node:timers/promises setTimeout */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Clock in ms, for the retry and wait budgets. @default Date.now */
  now?: () => number;
}

/** Per-call options. */
export interface CallOptions {
  signal?: AbortSignal;
}

/** The answer of `GET /health/readiness`. */
export interface LitellmReadiness {
  /** `healthy` when ready. */
  status: string;
  /** `connected`, `Not connected` (no database configured) or `disconnected`. */
  db?: string;
  /** The whole body (older versions add version and callback details). */
  raw: Record<string, unknown>;
}

/** A model group as `GET /v1/models` lists it (the `model_name`s, not deployments). */
export interface LitellmModelGroup {
  id: string;
  object?: string;
  owned_by?: string;
  [key: string]: unknown;
}

/** The body of `POST /model/new`. */
export interface NewModelEntry {
  model_name: string;
  litellm_params: { model: string; [key: string]: unknown };
  model_info?: { id?: string; [key: string]: unknown };
}

/** Options of {@link LitellmClient.waitUntilReady}. */
export interface WaitUntilReadyOptions {
  /** Give up after this long, in ms. @default 60000 */
  timeoutMs?: number;
  /** Pause between probes, in ms. @default 500 */
  intervalMs?: number;
  signal?: AbortSignal;
}

/** A typed client for the parts of LiteLLM's admin API that inferstack uses. */
export interface LitellmClient {
  /** The base URL the client talks to. */
  readonly baseUrl: string;
  /**
   * `GET /model/info`: every deployment (config and database), credentials removed by LiteLLM.
   * `modelId` narrows it to one deployment (`?litellm_model_id=`): an empty list when the
   * answering worker has none of that id (LiteLLM answers 400 for it). With several workers, only
   * the one that answered: see docs/upstream/litellm.md.
   */
  modelInfo(options?: CallOptions & { modelId?: string }): Promise<GatewayEntry[]>;
  /**
   * `POST /model/new` (needs a proxy with a database). Returns LiteLLM's raw answer, a DB row
   * with encrypted params: read `modelInfo()` to see the result.
   * @throws {LitellmNoDatabaseError} the proxy has no database (use config-file mode)
   */
  addModel(entry: NewModelEntry, options?: CallOptions): Promise<unknown>;
  /**
   * `POST /model/delete` by `model_info.id`.
   * @throws {LitellmHttpError} 400 when the id is unknown, or the model comes from the config file
   */
  deleteModel(id: string, options?: CallOptions): Promise<{ message: string }>;
  /** `GET /health/readiness` (no auth). One attempt, no retries: it is a probe. */
  readiness(options?: CallOptions): Promise<LitellmReadiness>;
  /** `GET /v1/models`: the model groups clients can ask for. */
  models(options?: CallOptions): Promise<LitellmModelGroup[]>;
  /**
   * Polls `readiness()` until the proxy answers healthy. Connection errors and 503 mean "not
   * yet"; any other HTTP error (e.g. 404: not a LiteLLM) fails at once.
   * @throws {LitellmTimeoutError} not ready in time; `cause` is the last failure
   */
  waitUntilReady(options?: WaitUntilReadyOptions): Promise<LitellmReadiness>;
}

interface RequestSpec {
  method: 'GET' | 'POST';
  path: string;
  json?: unknown;
  searchParams?: Record<string, string>;
  signal?: AbortSignal | undefined;
  /** Single attempt (probes). */
  noRetry?: boolean;
  /** Request timeout override, ms. */
  timeoutMs?: number;
}

/**
 * Creates a LiteLLM admin client.
 *
 * @example
 * const client = createLitellmClient({ baseUrl: 'http://127.0.0.1:4000', masterKey });
 * await client.waitUntilReady({ timeoutMs: 60_000 });
 * const entries = await client.modelInfo();
 */
export function createLitellmClient(options: LitellmClientOptions): LitellmClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  if (!/^https?:\/\//.test(baseUrl)) {
    throw new LitellmSyncError(`LiteLLM base URL must start with http:// or https://, got "${baseUrl}"`);
  }
  const masterKey = options.masterKey;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const retry: ResolvedRetry = resolveRetry(options.retry);
  const sleep = options.sleep ?? defaultSleep;
  const now = options.now ?? Date.now;

  let instance: Promise<KyInstance> | undefined;
  const http = async (...args: Parameters<KyInstance>) => (await (instance ??= makeInstance()))(...args);
  const makeInstance = async (): Promise<KyInstance> => (await loadKy()).default.create({
    prefixUrl: `${baseUrl}/`,
    retry: 0,
    throwHttpErrors: false,
    timeout: timeoutMs,
    headers: {
      accept: 'application/json',
      ...(masterKey ? { authorization: `Bearer ${masterKey}` } : {}),
    },
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });

  async function request(spec: RequestSpec): Promise<unknown> {
    const started = now();
    const attempts = spec.noRetry ? 1 : retry.attempts;
    const label = `${spec.method} ${spec.path}`;
    for (let attempt = 1; ; attempt++) {
      // The wait before the next attempt; undefined = give up now.
      const nextDelay = (): number | undefined => {
        if (attempt >= attempts) return undefined;
        const wait = backoffDelay(attempt, retry);
        return now() - started + wait <= retry.maxElapsedMs ? wait : undefined;
      };

      let response: Response;
      try {
        response = await http(spec.path.replace(/^\//, ''), {
          method: spec.method,
          ...(spec.json === undefined ? {} : { json: spec.json }),
          ...(spec.searchParams ? { searchParams: spec.searchParams } : {}),
          ...(spec.signal ? { signal: spec.signal } : {}),
          ...(spec.timeoutMs === undefined ? {} : { timeout: spec.timeoutMs }),
        });
      } catch (error) {
        if (spec.signal?.aborted) throw spec.signal.reason ?? error;
        if (error instanceof (await loadKy()).TimeoutError) {
          // A GET is safe to repeat; a POST that timed out may have been applied: do not repeat it.
          const wait = spec.method === 'GET' ? nextDelay() : undefined;
          if (wait === undefined) {
            throw new LitellmTimeoutError({ operation: label, timeoutMs: spec.timeoutMs ?? timeoutMs });
          }
          await sleep(wait, spec.signal);
          continue;
        }
        if (isNetworkError(error)) {
          const code = networkErrorCode(error);
          const wait = isRetryableCode(code) ? nextDelay() : undefined;
          if (wait === undefined) {
            throw new LitellmUnreachableError(
              { baseUrl, attempts: attempt, ...(code ? { code } : {}) },
              { cause: error },
            );
          }
          await sleep(wait, spec.signal);
          continue;
        }
        throw error;
      }

      const text = await response.text();
      if (response.ok) return parseJson(text, spec.path);

      if (RETRYABLE_STATUSES.has(response.status)) {
        const wait = nextDelay();
        if (wait !== undefined) {
          await sleep(wait, spec.signal);
          continue;
        }
      }
      const body = parseErrorBody(text, response.status);
      body.message = redact(body.message, masterKey);
      throw httpErrorFor({ ...body, status: response.status, method: spec.method, path: spec.path });
    }
  }

  async function readinessOnce(signal: AbortSignal | undefined, probeTimeoutMs?: number): Promise<LitellmReadiness> {
    const body = await request({
      method: 'GET',
      path: '/health/readiness',
      signal,
      noRetry: true,
      ...(probeTimeoutMs === undefined ? {} : { timeoutMs: probeTimeoutMs }),
    });
    if (!isRecord(body) || typeof body['status'] !== 'string') {
      throw new LitellmResponseError({ path: '/health/readiness', problem: 'no "status" field' });
    }
    return {
      status: body['status'],
      ...(typeof body['db'] === 'string' ? { db: body['db'] } : {}),
      raw: body,
    };
  }

  const client: LitellmClient = {
    baseUrl,

    async modelInfo(callOptions = {}) {
      try {
        const body = await request({
          method: 'GET',
          path: '/model/info',
          signal: callOptions.signal,
          ...(callOptions.modelId ? { searchParams: { litellm_model_id: callOptions.modelId } } : {}),
        });
        return parseModelInfo(body);
      } catch (error) {
        // "Is this id there?" has a plain answer: no.
        if (callOptions.modelId && error instanceof LitellmHttpError && error.status === 400 && /not found on litellm proxy/i.test(error.litellmMessage)) return [];
        throw error;
      }
    },

    async addModel(entry, callOptions = {}) {
      return request({ method: 'POST', path: '/model/new', json: entry, signal: callOptions.signal });
    },

    async deleteModel(id, callOptions = {}) {
      const body = await request({ method: 'POST', path: '/model/delete', json: { id }, signal: callOptions.signal });
      const message = isRecord(body) && typeof body['message'] === 'string' ? body['message'] : '';
      return { message };
    },

    readiness(callOptions = {}) {
      return readinessOnce(callOptions.signal);
    },

    async models(callOptions = {}) {
      const body = await request({ method: 'GET', path: '/v1/models', signal: callOptions.signal });
      const data = isRecord(body) ? body['data'] : undefined;
      if (!Array.isArray(data)) throw new LitellmResponseError({ path: '/v1/models', problem: 'no "data" list' });
      return data.map((item, index) => {
        if (!isRecord(item) || typeof item['id'] !== 'string') {
          throw new LitellmResponseError({ path: '/v1/models', problem: `data[${index}] has no "id"` });
        }
        return item as LitellmModelGroup;
      });
    },

    async waitUntilReady(waitOptions = {}) {
      const timeout = waitOptions.timeoutMs ?? 60_000;
      const interval = waitOptions.intervalMs ?? 500;
      const deadline = now() + timeout;
      let lastError: unknown;
      for (;;) {
        const remaining = deadline - now();
        try {
          // One probe never outlasts the wait: its timeout is what is left of it.
          const ready = await readinessOnce(waitOptions.signal, Math.max(1, Math.min(timeoutMs, remaining)));
          if (ready.status === 'healthy') return ready;
          lastError = new LitellmSyncError(`LiteLLM readiness: status "${ready.status}"`);
        } catch (error) {
          if (waitOptions.signal?.aborted) throw waitOptions.signal.reason ?? error;
          const notYet =
            error instanceof LitellmUnreachableError ||
            error instanceof LitellmTimeoutError ||
            (error instanceof LitellmHttpError && RETRYABLE_STATUSES.has(error.status));
          if (!notYet) throw error;
          lastError = error;
        }
        if (remaining <= 0 || now() + interval > deadline) {
          throw new LitellmTimeoutError(
            { operation: `waiting for ${baseUrl} to be ready`, timeoutMs: timeout },
            { cause: lastError, hint: "see the gateway's log" },
          );
        }
        await sleep(interval, waitOptions.signal);
      }
    },
  };
  return client;
}

function parseJson(text: string, path: string): unknown {
  if (text.trim() === '') return null;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new LitellmResponseError({ path, problem: 'body is not JSON' }, { cause: error });
  }
}

/** Validates the shape of `/model/info` and fills in missing objects. */
export function parseModelInfo(body: unknown): GatewayEntry[] {
  const data = isRecord(body) ? body['data'] : undefined;
  if (!Array.isArray(data)) throw new LitellmResponseError({ path: '/model/info', problem: 'no "data" list' });
  return data.map((item, index): GatewayEntry => {
    if (!isRecord(item) || typeof item['model_name'] !== 'string') {
      throw new LitellmResponseError({ path: '/model/info', problem: `data[${index}] has no "model_name"` });
    }
    const params = item['litellm_params'];
    const info = item['model_info'];
    return {
      ...item,
      model_name: item['model_name'],
      litellm_params: isRecord(params) ? params : {},
      model_info: isRecord(info) ? info : {},
    };
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
