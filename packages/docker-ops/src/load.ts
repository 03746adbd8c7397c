import { VLLM_CONTAINER_PORT } from '@inferstack/config';
import type { DockerClient } from './client.js';
import { addressOn, type ModelContainer } from './containers.js';
import { DockerApiError, OperationAbortedError } from './errors.js';
import { httpGet } from './http-get.js';
import { modelRequest, type ModelReach } from './model-http.js';

/** What a model's own `/metrics` says about its load. */
export interface ModelLoad {
  running: number;
  waiting: number;
  /** 0..1 */
  kvCacheUsage?: number;
  /** Requests finished so far (`vllm:request_success_total`): it moves when the model is used. */
  finished?: number;
  /** Sleep mode's state (`vllm:engine_sleep_state`), when the model reports it. */
  sleepState?: EngineSleepState;
}

/** `vllm:engine_sleep_state`'s `sleep_state` label: awake, level 1 (`weights_offloaded`) or level 2 (`discard_all`). */
export type EngineSleepState = 'awake' | 'weights_offloaded' | 'discard_all';

/** The series `parseVllmLoad` adds up, by metric name. */
const SUMMED = ['vllm:num_requests_running', 'vllm:num_requests_waiting', 'vllm:kv_cache_usage_perc', 'vllm:gpu_cache_usage_perc', 'vllm:request_success_total'] as const;
type Summed = (typeof SUMMED)[number];

/**
 * Read the load gauges out of vLLM's Prometheus text (new KV-cache name first, then the old), in
 * one pass over its lines: `serve status` reads it for every model at once.
 */
export function parseVllmLoad(text: string): ModelLoad | undefined {
  const totals = new Map<Summed, number>();
  let sleepState: EngineSleepState | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith('vllm:')) continue;
    if (line.startsWith('vllm:engine_sleep_state{')) {
      // Which `sleep_state` series of the gauge is 1.
      const state = /sleep_state="(awake|weights_offloaded|discard_all)"/.exec(line)?.[1] as EngineSleepState | undefined;
      if (state && sleepState === undefined && Number(line.slice(line.lastIndexOf(' ') + 1)) === 1) sleepState = state;
      continue;
    }
    const name = SUMMED.find((n) => line.startsWith(n) && (line[n.length] === '{' || line[n.length] === ' '));
    if (!name) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) totals.set(name, (totals.get(name) ?? 0) + value);
  }
  const running = totals.get('vllm:num_requests_running');
  const waiting = totals.get('vllm:num_requests_waiting');
  if (running === undefined && waiting === undefined) return undefined;
  const kv = totals.get('vllm:kv_cache_usage_perc') ?? totals.get('vllm:gpu_cache_usage_perc');
  const finished = totals.get('vllm:request_success_total');
  return {
    running: running ?? 0,
    waiting: waiting ?? 0,
    ...(kv !== undefined ? { kvCacheUsage: kv } : {}),
    ...(finished !== undefined ? { finished } : {}),
    ...(sleepState ? { sleepState } : {}),
  };
}

/** Fetch each running model container's load from its `/metrics` (reachable when the daemon is local), by container name (a model's replicas each have their own). */
export async function modelLoads(containers: readonly ModelContainer[], network: string): Promise<Map<string, ModelLoad>> {
  const out = new Map<string, ModelLoad>();
  await Promise.all(
    containers.map(async (c) => {
      const address = addressOn(c, network);
      if (c.state !== 'running' || !address) return;
      try {
        const r = await httpGet(`http://${address}:${VLLM_CONTAINER_PORT}/metrics`, { timeoutMs: 1500 });
        const load = r.status === 200 ? parseVllmLoad(r.body) : undefined;
        if (load) out.set(c.name, load);
      } catch {
        // Not answering: status shows its health instead.
      }
    }),
  );
  return out;
}

/** A model's `/metrics` text, undefined when it does not answer. */
export async function metricsText(docker: DockerClient, container: ModelContainer, reach: ModelReach): Promise<string | undefined> {
  const r = await modelRequest(docker, container, reach, 'GET', '/metrics', 2000).catch(() => undefined);
  return r?.status === 200 ? r.body : undefined;
}

/** What a drain came to. */
export interface DrainResult {
  /** No request was running or waiting any more. */
  drained: boolean;
  elapsedMs: number;
  /** Requests running and waiting at the last look (undefined when the model did not answer). */
  inFlight?: number;
}

/**
 * Wait until a model has no request running or waiting (vLLM's `vllm:num_requests_running` and
 * `vllm:num_requests_waiting`), or `timeoutMs` passes. A model whose metrics cannot be read (it
 * is gone, or not vLLM) counts as drained; one that does not answer in time, or resets a
 * kept-alive connection, counts as busy until it answers or the time is up (a look on a
 * connection the model had closed meanwhile once counted as drained at once).
 * `onWait` hears the count while there is one.
 */
export async function waitUntilDrained(
  docker: DockerClient,
  container: ModelContainer,
  options: { network: string; local: boolean; timeoutMs: number; intervalMs?: number; signal?: AbortSignal; onWait?: (inFlight: number) => void },
): Promise<DrainResult> {
  const started = Date.now();
  let last: number | undefined;
  for (;;) {
    if (options.signal?.aborted) throw new OperationAbortedError();
    // A look ends by the drain's end (but gets a second): a caller with a deadline keeps it.
    const lookMs = Math.min(LOOK_MS, Math.max(MIN_LOOK_MS, options.timeoutMs - (Date.now() - started)));
    const look = await drainLook(docker, container, options, lookMs);
    if (look === 'gone') return { drained: true, elapsedMs: Date.now() - started, ...(last !== undefined ? { inFlight: last } : {}) };
    if (look !== 'no-answer') {
      last = look.running + look.waiting;
      if (last === 0) return { drained: true, elapsedMs: Date.now() - started, inFlight: 0 };
    }
    if (Date.now() - started >= options.timeoutMs) return { drained: false, elapsedMs: Date.now() - started, ...(last !== undefined ? { inFlight: last } : {}) };
    if (last !== undefined) options.onWait?.(last);
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 250));
  }
}

/** How long one look of a drain waits for `/metrics` at most, and at least. */
const LOOK_MS = 2000;
const MIN_LOOK_MS = 1000;

/** What says that nothing listens there any more (a stopped or removed container). */
const NOBODY_THERE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * One look of {@link waitUntilDrained}: the load; `gone` for a model that is not there, or not
 * vLLM (or, reached through Docker, whose container cannot run the request); `no-answer` for one
 * that did not answer in time, or whose kept-alive connection it had closed meanwhile (its web
 * server drops idle ones after a few seconds; the next look opens a new one).
 */
async function drainLook(docker: DockerClient, container: ModelContainer, reach: ModelReach, timeoutMs: number): Promise<ModelLoad | 'gone' | 'no-answer'> {
  try {
    const r = await modelRequest(docker, container, reach, 'GET', '/metrics', timeoutMs);
    return (r.status === 200 ? parseVllmLoad(r.body) : undefined) ?? 'gone';
  } catch (error) {
    const code = (error as { code?: string }).code;
    return error instanceof DockerApiError || (code !== undefined && NOBODY_THERE.has(code)) ? 'gone' : 'no-answer';
  }
}
