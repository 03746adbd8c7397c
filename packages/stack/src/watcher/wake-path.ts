import { LOCAL_HOST, type ModelSpec, type StackConfig } from '@inferstack/config';
import { DEFAULT_DOCKER_SOCKET, hasDevRoutes, parseDockerAddress } from '@inferstack/docker-ops';
import { StackInputError } from '../errors.js';
import { hostOf } from '../hosts/hosts.js';

/**
 * The path from a request to a model that sleeps: the managed gateway's plugin (see
 * gateway/plugin.ts) asks the stack's watcher to wake (or start) the model and waits for it
 * before LiteLLM routes the request. vLLM does not refuse a request while asleep, so no request
 * may reach a model before the watcher says it is awake. Which configs have such a path.
 */

/** The models (by served name) that sleep or stop when idle, with how long a request waits for each (seconds). */
export function wakeableModels(config: Pick<StackConfig, 'models'>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of config.models) {
    if (!m.idle && !m.swapGroup) continue;
    out[m.servedModelName] = Math.ceil((m.wakeTimeoutMs ?? 600_000) / 1000);
  }
  return out;
}

/** Whether the stack needs a watcher: some model sleeps, stops when idle, has a swap group, or scales (`replicas: {min, max}`). */
export function needsWatcher(config: Pick<StackConfig, 'models'>): boolean {
  return config.models.some((m) => m.idle || m.swapGroup || m.replicas.min < m.replicas.max);
}

function at(spec: ModelSpec): string {
  return `${spec.source.file}:${spec.source.line}`;
}

/** What decides whether idle models can be woken: the config, and where serve runs. */
export interface WakePathContext {
  env: NodeJS.ProcessEnv;
  /** The caller can run the managed watcher (the CLI gives its own program; a library caller may not). */
  hasWatcherProgram: boolean;
}

/**
 * Every model that sleeps or stops when idle must come back on a request, and a request must
 * never reach a sleeping vLLM (vLLM does not refuse one: in 0.11–0.13 its engine dies, from 0.20
 * on the request waits until something wakes the model). That takes the managed gateway (its
 * wake hook) and a watcher it can reach. Bad input otherwise, found in the plan, before anything
 * changes, with where the model is and what to do.
 */
export function requireWakePath(config: StackConfig, wake: WakePathContext): void {
  // The watcher reaches models on the default host only (their metrics and sleep routes).
  const remote = config.models.find((m) => (m.idle || m.swapGroup) && hostOf(m) !== LOCAL_HOST);
  if (remote) {
    throw new StackInputError(`${at(remote)}: model ${remote.key} runs on host ${remote.host} and has ${remote.idle ? 'an idle policy' : 'a swap group'}; idle policies and swap groups work on the default host (${LOCAL_HOST}) only for now`, {
      hint: `remove idle/swap-group from ${remote.key}, or run it on the default host`,
    });
  }
  // vLLM's development routes (sleep mode) are unprotected: they must stay on the stack's private network.
  const exposed = config.models.find((m) => hasDevRoutes(m) && hostOf(m) !== LOCAL_HOST);
  if (exposed) {
    throw new StackInputError(`${at(exposed)}: model ${exposed.key} runs on host ${exposed.host} with VLLM_SERVER_DEV_MODE=1, whose /sleep, /wake_up and /collective_rpc routes vLLM does not protect with its api-key; a model of another host is published on its address`, {
      hint: `remove VLLM_SERVER_DEV_MODE from ${exposed.key}'s env, or run it on the default host`,
    });
  }
  const idle = config.models.find((m) => m.idle || m.swapGroup);
  if (!idle) return;
  if (config.gateway.mode !== 'managed') {
    const what = idle.swapGroup ? 'is in a swap group' : idle.idle?.then === 'stop' ? 'stops when idle' : 'sleeps when idle';
    throw new StackInputError(`${at(idle)}: model ${idle.key} ${what}, which needs the managed gateway (gateway mode is ${config.gateway.mode})`, {
      hint: 'only the managed gateway wakes (or starts) a model before a request reaches it: use gateway: {mode: managed}, or remove idle/swap-group from the model',
    });
  }
  if (config.watcher.mode !== 'managed') return;
  if (!wake.hasWatcherProgram) {
    throw new StackInputError(`${at(idle)}: model ${idle.key} needs the stack's watcher, and this caller gives no program to run it with`, {
      hint: 'open the stack with the watcherProgram option (the serve CLI does), or set watcher: {mode: none} in models.yaml and run "serve watch" yourself',
    });
  }
  const docker = parseDockerAddress(wake.env.DOCKER_HOST || DEFAULT_DOCKER_SOCKET);
  if (docker.transport !== 'unix') {
    throw new StackInputError(`${at(idle)}: model ${idle.key} needs the stack's watcher container, which talks to Docker through its socket, and DOCKER_HOST is ${wake.env.DOCKER_HOST}`, {
      hint: 'run serve on the Docker host itself (unix socket), or set watcher: {mode: none} in models.yaml and run "serve watch" on the Docker host',
    });
  }
}
