/** Options of {@link startTraffic}. */
export interface TrafficOptions {
  /** Base URL of an OpenAI-compatible server, e.g. the gateway's `http://127.0.0.1:4000`. */
  url: string;
  /** Sent as `Authorization: Bearer <key>`; never appears in error texts. */
  key?: string;
  /** Model names to send to (`model` in the request body). */
  models: readonly string[];
  /** Closed-loop clients per model. @default 1 */
  concurrency?: number;
  /** Streaming requests (ok only when the SSE stream ends with `data: [DONE]`). @default false */
  stream?: boolean;
  /** `max_tokens` of each request. @default unset (the server's default) */
  maxTokens?: number;
  /** Deadline of one request, connect to last byte. @default 30000 */
  timeoutMs?: number;
  /** Pause of a client between two requests. @default 0 */
  pauseMs?: number;
  /** Minimum pause after a failed request, so an endpoint that refuses at once is not hammered. @default 100 */
  failurePauseMs?: number;
  /** Extra members of every request body. */
  extraBody?: Record<string, unknown>;
  /**
   * Each client keeps one connection of its own alive between its requests, as an OpenAI SDK
   * client does (a request is never sent twice either way). @default false (one keep-alive pool
   * shared by all clients)
   */
  ownConnection?: boolean;
}

/** One request a client made. Times are epoch milliseconds (`Date.now()`). */
export interface TrafficRecord {
  id: number;
  model: string;
  stream: boolean;
  start: number;
  end: number;
  /** HTTP 200 and a complete answer. */
  ok: boolean;
  /** HTTP status, 0 when no response arrived. */
  status: number;
  /** Why it failed ('' when ok), at most 300 characters, keys redacted. */
  error: string;
  /** SSE data events received (streaming), not counting `[DONE]`. */
  chunks: number;
  /** The served model the answer names (the vLLM stand-in's "Hello from <name>!"), if any. */
  from?: string;
  /** It went on a kept-alive connection that had carried a request before. */
  reused: boolean;
}

export interface ModelStats {
  requests: number;
  ok: number;
  failures: number;
  /** Successful answers that name another model than the one asked. */
  wrongModel: number;
  /** Successful answers that name no model (e.g. cut by max_tokens before the name). */
  unnamed: number;
  /** Latency of the successful requests, in ms (undefined when none succeeded). */
  latencyMs: { p50?: number; p95?: number; max?: number };
  /** Start of the first failed request, end of the last one (epoch ms). */
  firstFailureAt?: number;
  lastFailureAt?: number;
}

/** A mark name, an epoch-ms time, or undefined/null for an open end. */
export type TimePoint = string | number | undefined | null;

export interface TrafficReport {
  startedAt: number;
  stoppedAt: number;
  marks: Array<{ name: string; at: number }>;
  /** Every request, in the order they ended. */
  requests: TrafficRecord[];
  failures: TrafficRecord[];
  models: Record<string, ModelStats>;
  /**
   * Failed requests of `model` (all models when null/undefined) whose time in flight overlaps
   * [from, to]. Throws for an unknown mark name.
   */
  failuresBetween(model: string | null | undefined, from?: TimePoint, to?: TimePoint): TrafficRecord[];
  /** Failed requests of `model` that do not overlap [from, to]. */
  failuresOutside(model: string | null | undefined, from?: TimePoint, to?: TimePoint): TrafficRecord[];
  /** A table (per model: requests, failures, latency, when failing), the marks and the first failures. */
  summary(): string;
}

export interface Traffic {
  startedAt: number;
  /** The requests recorded so far (live). */
  readonly requests: readonly TrafficRecord[];
  /** Record a named time point (names are unique); returns its time. */
  mark(name: string): number;
  /** Stop sending, wait for the requests in flight (each bounded by `timeoutMs`), report. */
  stop(): Promise<TrafficReport>;
}

/** Start closed-loop clients sending `POST /v1/chat/completions`, recording every request. */
export declare function startTraffic(options: TrafficOptions): Traffic;

export interface LongRequestResult {
  model: string;
  start: number;
  end: number;
  /** When the first SSE data event arrived. */
  firstChunkAt?: number;
  /** HTTP 200, ended with `data: [DONE]`, no error event. */
  complete: boolean;
  /** `data: [DONE]` was received. */
  done: boolean;
  /** SSE data events received (not counting `[DONE]`). */
  chunks: number;
  finishReason: string | null;
  status: number;
  error: string;
}

/**
 * One long streaming chat completion (`max_tokens` = `min_tokens` = `tokens`, `ignore_eos`): was it
 * completed, or cut after how many chunks. Never rejects for a failed request: the result says.
 */
export declare function longRequest(options: {
  url: string;
  key?: string;
  model: string;
  tokens: number;
  /** @default 120000 */
  timeoutMs?: number;
  /** Called after each SSE data event with the count so far. */
  onChunk?: (chunks: number) => void;
}): Promise<LongRequestResult>;
