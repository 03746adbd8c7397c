import type { StackConfig } from '@inferstack/config';
import { hasDevRoutes, type ModelNetworks } from '@inferstack/docker-ops';

/*
 * A stack's networks. Its models live on the stack's network (`network:` in models.yaml,
 * `inference_default` by default), which other containers of the user may share: the gateway
 * reaches the models there, as the old tool's did. A model that can sleep runs vLLM's
 * development routes (`/sleep`, `/wake_up`, `/collective_rpc`), which vLLM does not protect
 * with its API key: such a model lives on the stack's private network only, which only the
 * stack's own containers join (the gateway, the watcher, Prometheus).
 */

/** The stack's private network. */
export function privateNetworkName(stack: string): string {
  return `inferstack-${stack}-private`;
}

/** Where the stack's models live. */
export function modelNetworks(config: Pick<StackConfig, 'network'>, stack: string): ModelNetworks {
  return { network: config.network, privateNetwork: privateNetworkName(stack) };
}

/** Whether some model of the stack has development routes (its services join the private network). */
export function needsPrivateNetwork(config: Pick<StackConfig, 'models'>): boolean {
  return config.models.some((m) => hasDevRoutes(m));
}

/** The further networks a service that talks to the models joins (the gateway, the watcher, Prometheus). */
export function serviceExtraNetworks(config: Pick<StackConfig, 'models'>, stack: string): string[] {
  return needsPrivateNetwork(config) ? [privateNetworkName(stack)] : [];
}
