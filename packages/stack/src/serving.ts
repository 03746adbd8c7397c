import { httpGet, type ModelContainer } from '@inferstack/docker-ops';
import { modelUrlFromHost } from './endpoints.js';

/**
 * The model containers that really serve now: running, and either healthy by Docker's check,
 * made ready by this run, or answering `/health` when we can reach them. The gateway and
 * Prometheus are pointed at exactly these.
 */
export async function servingModels(
  containers: readonly ModelContainer[],
  options: { network: string; readyIds?: ReadonlySet<string>; local: boolean },
): Promise<ModelContainer[]> {
  const checks = await Promise.all(
    containers.map(async (c) => {
      if (c.state !== 'running' || c.health === 'unhealthy') return false;
      if (c.health === 'healthy' || options.readyIds?.has(c.id)) return true;
      const address = c.addresses[options.network];
      if (!options.local || !address) return false;
      try {
        return (await httpGet(`${modelUrlFromHost(address)}/health`, { timeoutMs: 1500 })).status === 200;
      } catch {
        return false;
      }
    }),
  );
  return containers.filter((_, i) => checks[i]);
}
