import type { StackConfig } from '@inferstack/config';
import { addressOn, httpGet, type ModelContainer } from '@inferstack/docker-ops';
import { containerAddress, modelUrlFromHost } from './endpoints.js';
import { hostNamed } from '../hosts/hosts.js';

/**
 * The model containers that really serve now: running, and either healthy by Docker's check,
 * made ready by this run, or answering `/health` when we can reach them. The gateway and
 * Prometheus are pointed at exactly these. A container of another host that publishes no port
 * the gateway could reach is none of them.
 */
export async function servingModels(
  containers: readonly ModelContainer[],
  options: { network: string; readyIds?: ReadonlySet<string>; local: boolean; config?: Pick<StackConfig, 'hosts'> },
): Promise<ModelContainer[]> {
  const checks = await Promise.all(
    containers.map(async (c) => {
      if (c.state !== 'running' || c.health === 'unhealthy') return false;
      const onDefaultHost = !options.config || (hostNamed(options.config, c.host)?.local ?? true);
      if (!onDefaultHost && containerAddress(options.config!, c) === undefined) return false;
      if (c.health === 'healthy' || options.readyIds?.has(c.id)) return true;
      // A model that sleeps has its one address on the stack's private network.
      const address = addressOn(c, options.network);
      // Only the default host's containers are reachable from here by their address.
      if (!options.local || !onDefaultHost || !address) return false;
      try {
        return (await httpGet(`${modelUrlFromHost(address)}/health`, { timeoutMs: 1500 })).status === 200;
      } catch {
        return false;
      }
    }),
  );
  return containers.filter((_, i) => checks[i]);
}
