import type { DockerClient } from './client.js';
import type { ModelContainer } from './containers.js';
import { DockerOpsError } from './errors.js';
import { modelRequest, type ModelReach } from './model-http.js';

/**
 * vLLM's sleep mode, through the routes it has with `--enable-sleep-mode` and
 * `VLLM_SERVER_DEV_MODE=1` (reached on the stack's network only: model containers publish no
 * port). Level 1 moves the weights to CPU memory and drops the KV cache; level 2 drops both, so
 * waking reloads the weights. vLLM does not refuse a request while asleep (0.11–0.13: its engine
 * dies on it; 0.20 and later: it waits for a wake): callers make sure nothing is routed to a
 * sleeping model before it is awake.
 */

/** How a model is: serving, or asleep at a level. */
export type SleepState = { asleep: false } | { asleep: true; level: 1 | 2 };

/** Whether a model sleeps, and how deeply (from `/is_sleeping` and vLLM's sleep-state metric). */
export async function sleepState(docker: DockerClient, container: Pick<ModelContainer, 'id' | 'addresses'>, reach: ModelReach): Promise<SleepState> {
  const r = await modelRequest(docker, container, reach, 'GET', '/is_sleeping');
  if (r.status !== 200) throw new DockerOpsError(`the model did not say whether it sleeps (HTTP ${r.status})`, { hint: 'it needs --enable-sleep-mode and VLLM_SERVER_DEV_MODE=1' });
  if (!(JSON.parse(r.body) as { is_sleeping?: boolean }).is_sleeping) return { asleep: false };
  const metrics = await modelRequest(docker, container, reach, 'GET', '/metrics').catch(() => undefined);
  const deep = metrics?.status === 200 && /vllm:engine_sleep_state\{[^}]*sleep_state="discard_all"[^}]*\}\s+1(\.0)?\b/.test(metrics.body);
  return { asleep: true, level: deep ? 2 : 1 };
}

/** Put a model to sleep at `level`. */
export async function sleepModel(docker: DockerClient, container: Pick<ModelContainer, 'id' | 'addresses'>, reach: ModelReach, level: 1 | 2): Promise<void> {
  const r = await modelRequest(docker, container, reach, 'POST', `/sleep?level=${level}`, 120_000);
  if (r.status !== 200) throw new DockerOpsError(`the model did not go to sleep (HTTP ${r.status}): ${r.body.slice(0, 200)}`);
}

/**
 * Wake a model up, waiting until it serves again. After level 2 the weights are reloaded in
 * between (vLLM's documented order: weights, reload, KV cache), or it would answer garbage.
 */
export async function wakeModel(
  docker: DockerClient,
  container: Pick<ModelContainer, 'id' | 'addresses'>,
  reach: ModelReach,
  options: { level: 1 | 2; timeoutMs: number },
): Promise<void> {
  const call = async (method: string, path: string, body?: unknown) => {
    const r = await modelRequest(docker, container, reach, method, path, options.timeoutMs, body);
    if (r.status !== 200) throw new DockerOpsError(`the model did not wake up (${path}: HTTP ${r.status}): ${r.body.slice(0, 200)}`);
  };
  if (options.level === 2) {
    await call('POST', '/wake_up?tags=weights');
    await call('POST', '/collective_rpc', { method: 'reload_weights' });
    await call('POST', '/wake_up?tags=kv_cache');
  } else {
    await call('POST', '/wake_up');
  }
  const end = Date.now() + options.timeoutMs;
  while ((await sleepState(docker, container, reach)).asleep) {
    if (Date.now() > end) throw new DockerOpsError(`the model still sleeps after ${Math.round(options.timeoutMs / 1000)} s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
