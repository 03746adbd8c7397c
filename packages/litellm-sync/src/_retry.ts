import { setTimeout as delay } from 'node:timers/promises';

/** How failed requests are retried. Only failures that can succeed on retry are retried. */
export interface RetryOptions {
  /** Attempts in total, the first one included. `1` disables retries. @default 6 */
  attempts?: number;
  /** Wait before the first retry, in ms. @default 250 */
  initialDelayMs?: number;
  /** Each further wait is the previous one times this. @default 2 */
  factor?: number;
  /** Upper bound of one wait, in ms. @default 4000 */
  maxDelayMs?: number;
  /**
   * No retry starts once this much time (ms) has passed since the first attempt, whatever
   * `attempts` says: the total time spent on one call stays bounded.
   * @default 20000
   */
  maxElapsedMs?: number;
}

/** {@link RetryOptions} with every default applied. */
export type ResolvedRetry = Required<RetryOptions>;

export const DEFAULT_RETRY: ResolvedRetry = {
  attempts: 6,
  initialDelayMs: 250,
  factor: 2,
  maxDelayMs: 4000,
  maxElapsedMs: 20_000,
};

export function resolveRetry(retry: RetryOptions | false | undefined): ResolvedRetry {
  if (retry === false) return { ...DEFAULT_RETRY, attempts: 1 };
  const resolved = { ...DEFAULT_RETRY, ...stripUndefined(retry ?? {}) };
  if (!Number.isInteger(resolved.attempts) || resolved.attempts < 1) {
    throw new RangeError(`retry.attempts must be an integer >= 1, got ${resolved.attempts}`);
  }
  return resolved;
}

/** Wait before retry number `retry` (1 = the first retry). Deterministic: no jitter. */
export function backoffDelay(retry: number, options: ResolvedRetry): number {
  return Math.min(options.maxDelayMs, options.initialDelayMs * options.factor ** (retry - 1));
}

/** HTTP statuses that mean "the proxy (or what is in front of it) is not ready yet". */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([502, 503, 504]);

/**
 * System error codes of connection failures that a proxy which is starting (or restarting)
 * produces, and that therefore can succeed on retry.
 */
const RETRYABLE_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ECONNABORTED',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

/** The first system error code in an error's `cause` chain (fetch nests it one or two deep). */
export function networkErrorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current !== undefined && current !== null; depth++) {
    if (typeof current === 'object') {
      const code = (current as { code?: unknown }).code;
      if (typeof code === 'string' && /^[A-Z][A-Z0-9_]+$/.test(code)) return code;
      const errors = (current as { errors?: unknown }).errors;
      if (Array.isArray(errors) && errors.length > 0) {
        const inner = networkErrorCode(errors[0]);
        if (inner !== undefined) return inner;
      }
      current = (current as { cause?: unknown }).cause;
    } else {
      break;
    }
  }
  return undefined;
}

/** Whether `fetch` failed before any HTTP answer (as opposed to a bug in our code). */
export function isNetworkError(error: unknown): boolean {
  return error instanceof TypeError && networkErrorCode(error) !== undefined
    ? true
    : error instanceof TypeError && /fetch failed|network/i.test(error.message);
}

export function isRetryableCode(code: string | undefined): boolean {
  return code !== undefined && RETRYABLE_CODES.has(code);
}

/** Sleeps `ms`, or rejects with the signal's reason when it aborts first. */
export function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return delay(ms, undefined, signal ? { signal } : undefined);
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
