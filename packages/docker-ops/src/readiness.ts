import type { DockerClient } from './client.js';
import { addressOn, containerLogs } from './containers.js';
import { VLLM_CONTAINER_PORT as VLLM_PORT } from '@inferstack/config';
import { DockerApiError, OperationAbortedError } from './errors.js';
import { httpGet } from './http-get.js';

type HttpGet = typeof httpGet;

/** How readiness is observed. */
export type ProbeMode =
  /** HTTP to the container's address from here: fastest; needs a daemon on this machine. */
  | 'http'
  /** Docker's health check read back through the API: works with a remote daemon. */
  | 'healthcheck';

/** Why a model did not become ready. */
export type NotReadyReason = 'exited' | 'restarting' | 'unhealthy' | 'removed' | 'timeout';

export type ReadinessResult =
  | { ready: true; elapsedMs: number }
  | { ready: false; reason: NotReadyReason; elapsedMs: number; exitCode?: number; oomKilled?: boolean; logs: string };

/** Options for {@link waitUntilReady}. */
export interface WaitOptions {
  /** @default 'http' */
  probe?: ProbeMode;
  /** Network whose address the HTTP probe uses. */
  network: string;
  /** Give up after this long; vLLM can need tens of minutes on a first download. @default 3_600_000 */
  timeoutMs?: number;
  /** Between HTTP probes. @default 100 */
  intervalMs?: number;
  /** Between looks at the container's state. @default 500 */
  inspectIntervalMs?: number;
  /** Bearer token for `/v1/models` when vLLM runs with an API key. */
  apiKey?: string;
  /** Served name that `/v1/models` must list. */
  servedModelName?: string;
  signal?: AbortSignal;
  /** Log lines kept for diagnosis. @default 300 */
  logTail?: number;
  /** HTTP GET used for the probes (tests inject one). @default {@link httpGet} */
  get?: HttpGet;
  now?: () => number;
}

/** Wait `ms`, or reject with OperationAbortedError as soon as `signal` aborts. */
export const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(new OperationAbortedError());
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new OperationAbortedError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

interface Observed {
  status: string;
  restartCount: number;
  health?: string;
  exitCode?: number;
  oomKilled?: boolean;
  address?: string;
}

async function observe(docker: DockerClient, id: string, network: string): Promise<Observed | undefined> {
  try {
    const info = await docker.getContainer(id).inspect();
    return {
      status: info.State.Status,
      restartCount: info.RestartCount ?? 0,
      health: info.State.Health?.Status,
      exitCode: info.State.ExitCode,
      oomKilled: info.State.OOMKilled,
      address: addressOn({ addresses: Object.fromEntries(Object.entries(info.NetworkSettings?.Networks ?? {}).flatMap(([n, c]) => (c.IPAddress ? [[n, c.IPAddress]] : []))) }, network),
    };
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw new DockerApiError(`cannot inspect container ${id.slice(0, 12)}`, error);
  }
}

async function httpReady(address: string, options: WaitOptions, get: HttpGet): Promise<boolean> {
  const base = `http://${address}:${VLLM_PORT}`;
  try {
    const health = await get(`${base}/health`, { timeoutMs: 2000 });
    if (health.status !== 200) return false;
    if (!options.servedModelName) return true;
    const models = await get(`${base}/v1/models`, { timeoutMs: 2000, headers: options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {} });
    if (models.status !== 200) return false;
    const body = JSON.parse(models.body) as { data?: Array<{ id?: string }> };
    return body.data?.some((m) => m.id === options.servedModelName) ?? false;
  } catch {
    // Connection refused or reset: vLLM does not listen until the model is loaded.
    return false;
  }
}

/**
 * Wait until a model container serves: `/health` answers 200 and `/v1/models` lists the served
 * name. Connection errors mean "still loading"; a container that exits, restarts, turns
 * unhealthy or disappears is a failure, returned with its last log lines.
 */
export async function waitUntilReady(docker: DockerClient, id: string, options: WaitOptions): Promise<ReadinessResult> {
  const now = options.now ?? Date.now;
  const get = options.get ?? httpGet;
  const probe = options.probe ?? 'http';
  const interval = options.intervalMs ?? 100;
  const inspectEvery = Math.max(interval, options.inspectIntervalMs ?? 500);
  const timeoutMs = options.timeoutMs ?? 3_600_000;
  const start = now();
  let lastInspect = -Infinity;
  let observed: Observed | undefined;
  let initialRestarts: number | undefined;

  const fail = async (reason: NotReadyReason): Promise<ReadinessResult> => ({
    ready: false,
    reason,
    elapsedMs: now() - start,
    exitCode: reason === 'exited' ? observed?.exitCode : undefined,
    oomKilled: observed?.oomKilled || undefined,
    logs: reason === 'removed' ? '' : await containerLogs(docker, id, options.logTail ?? 300),
  });

  for (;;) {
    if (options.signal?.aborted) throw new OperationAbortedError();
    if (now() - lastInspect >= inspectEvery || !observed?.address) {
      lastInspect = now();
      observed = await observe(docker, id, options.network);
      if (!observed) return fail('removed');
      initialRestarts ??= observed.restartCount;
      if (observed.status === 'exited' || observed.status === 'dead') return fail('exited');
      if (observed.status === 'restarting' || observed.restartCount > initialRestarts) return fail('restarting');
      if (observed.health === 'unhealthy') return fail('unhealthy');
      if (probe === 'healthcheck' && observed.health === 'healthy') return { ready: true, elapsedMs: now() - start };
    }
    if (probe === 'http' && observed.address && observed.status === 'running' && (await httpReady(observed.address, options, get))) {
      return { ready: true, elapsedMs: now() - start };
    }
    if (now() - start >= timeoutMs) return fail('timeout');
    await sleep(probe === 'http' ? interval : inspectEvery, options.signal);
  }
}
