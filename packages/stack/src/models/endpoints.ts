import { VLLM_CONTAINER_PORT, type StackConfig } from '@inferstack/config';
import type { ModelContainer } from '@inferstack/docker-ops';
import { hostNamed } from '../hosts/hosts.js';

/**
 * Where the stack's own containers (the gateway, Prometheus) reach a model: its container name
 * on the stack's network and vLLM's port. The one place that decides a model's address: the
 * gateway routes, the Prometheus targets and `status` all come from here.
 */
export function modelAddress(containerName: string): string {
  return `${containerName}:${VLLM_CONTAINER_PORT}`;
}

/** The OpenAI base URL of a model as the gateway calls it (`http://<container>:8000/v1`). */
export function modelApiBase(containerName: string): string {
  return `http://${modelAddress(containerName)}/v1`;
}

/**
 * Where the gateway and Prometheus (on the default host) reach a model container, wherever it
 * runs: on the default host, its name on the stack's network (see {@link modelAddress}); on
 * another host, that host's `address` and the port vLLM's port is published on there. Undefined
 * for a container of another host that publishes no port (it cannot be reached: `up` recreates it).
 */
export function containerAddress(config: Pick<StackConfig, 'hosts'>, container: Pick<ModelContainer, 'name' | 'host' | 'published' | 'addressName'>): string | undefined {
  const host = hostNamed(config, container.host);
  // By the name of its own generation when it has one: a replacement never takes it over, so
  // no cached address can lead the gateway or Prometheus to another container.
  if (!host || host.local) return modelAddress(container.addressName ?? container.name);
  if (!container.published || !host.address) return undefined;
  return `${bracketed(host.address)}:${container.published.port}`;
}

/** {@link containerAddress} as the OpenAI base URL the gateway calls. */
export function containerApiBase(config: Pick<StackConfig, 'hosts'>, container: Pick<ModelContainer, 'name' | 'host' | 'published' | 'addressName'>): string | undefined {
  const address = containerAddress(config, container);
  return address === undefined ? undefined : `http://${address}/v1`;
}

/** How `status` shows where a model is reached, also when it has no container (yet). */
export function shownApiBase(config: Pick<StackConfig, 'hosts'>, containerName: string, host: string | undefined, container?: Pick<ModelContainer, 'name' | 'host' | 'published' | 'addressName'>): string {
  if (container) return containerApiBase(config, container) ?? `http://${bracketed(hostNamed(config, host)?.address ?? '?')}:?/v1`;
  const spec = hostNamed(config, host);
  return !spec || spec.local ? modelApiBase(containerName) : `http://${bracketed(spec.address ?? '?')}:?/v1`;
}

/** A model's own HTTP root, reachable from this machine when the daemon is local. */
export function modelUrlFromHost(ipAddress: string): string {
  return `http://${ipAddress}:${VLLM_CONTAINER_PORT}`;
}

function bracketed(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}
