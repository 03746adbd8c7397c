import { httpGet, type ModelContainer } from '@inferstack/docker-ops';
import { modelUrlFromHost } from './endpoints.js';

/** What `status` shows from a model's own `/metrics`. */
export interface ModelLoad {
  running: number;
  waiting: number;
  /** 0..1 */
  kvCacheUsage?: number;
}

function sum(text: string, name: string): number | undefined {
  let total: number | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== '{' && rest[0] !== ' ') continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) total = (total ?? 0) + value;
  }
  return total;
}

/** Read the load gauges out of vLLM's Prometheus text (new KV-cache name first, then the old). */
export function parseVllmLoad(text: string): ModelLoad | undefined {
  const running = sum(text, 'vllm:num_requests_running');
  const waiting = sum(text, 'vllm:num_requests_waiting');
  if (running === undefined && waiting === undefined) return undefined;
  const kv = sum(text, 'vllm:kv_cache_usage_perc') ?? sum(text, 'vllm:gpu_cache_usage_perc');
  return { running: running ?? 0, waiting: waiting ?? 0, ...(kv !== undefined ? { kvCacheUsage: kv } : {}) };
}

/** Fetch each running model's load from its `/metrics` (reachable when the daemon is local). */
export async function modelLoads(containers: readonly ModelContainer[], network: string): Promise<Map<string, ModelLoad>> {
  const out = new Map<string, ModelLoad>();
  await Promise.all(
    containers.map(async (c) => {
      const address = c.addresses[network];
      if (c.state !== 'running' || !address) return;
      try {
        const r = await httpGet(`${modelUrlFromHost(address)}/metrics`, { timeoutMs: 1500 });
        const load = r.status === 200 ? parseVllmLoad(r.body) : undefined;
        if (load) out.set(c.key, load);
      } catch {
        // Not answering: status shows its health instead.
      }
    }),
  );
  return out;
}
