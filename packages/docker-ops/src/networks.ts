/**
 * The bridge networks a stack's containers live on: create, attach, find the host's address on
 * one, remove. Networks carry the stack's label; one made by another stack is never removed.
 */
import type { DockerClient } from './client.js';
import { DockerApiError, describeDockerError } from './errors.js';
import { LABEL_STACK } from './labels.js';

/**
 * Attach a container to a network (with DNS aliases) unless it is attached already. Works on a
 * running container without restarting it, so a service gains a network without downtime.
 * Returns whether it attached it.
 */
export async function connectNetwork(docker: DockerClient, container: string, network: string, aliases: string[] = []): Promise<boolean> {
  try {
    const info = await docker.getContainer(container).inspect();
    if (info.NetworkSettings.Networks?.[network]) return false;
    await docker.getNetwork(network).connect({ Container: info.Id, EndpointConfig: aliases.length ? { Aliases: aliases } : {} });
    return true;
  } catch (error) {
    // Attached meanwhile by a concurrent run.
    if ((error as { statusCode?: number }).statusCode === 403 && /already exists/.test(describeDockerError(error))) return false;
    throw new DockerApiError(`cannot attach ${container} to network ${network}`, error);
  }
}

/**
 * The address of the Docker host on a bridge network (its gateway): where a process on the host
 * that listens there is reached from the network's containers. Undefined when there is no such
 * network (yet).
 */
export async function networkGatewayAddress(docker: DockerClient, network: string): Promise<string | undefined> {
  try {
    const info = (await docker.getNetwork(network).inspect()) as { IPAM?: { Config?: Array<{ Gateway?: string }> | null } };
    return info.IPAM?.Config?.find((c) => c.Gateway && !c.Gateway.includes(':'))?.Gateway;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw new DockerApiError(`cannot inspect network ${network}`, error);
  }
}

/** Create a network (bridge) when none of that name exists. Returns whether it was created. */
export async function ensureNetwork(docker: DockerClient, name: string, labels: Record<string, string> = {}): Promise<boolean> {
  try {
    const existing = await docker.listNetworks({ filters: { name: [name] } });
    if (existing.some((n) => n.Name === name)) return false;
    await docker.createNetwork({ Name: name, Driver: 'bridge', CheckDuplicate: true, Labels: labels });
    return true;
  } catch (error) {
    // A concurrent run may have created it between our look and our create.
    if ((error as { statusCode?: number }).statusCode === 409) return false;
    throw new DockerApiError(`cannot create network ${name}`, error);
  }
}

/**
 * Remove a network once nothing is attached to it; one in use, already gone, or made by another
 * stack (`stack`: ours) is left alone.
 */
export async function removeNetwork(docker: DockerClient, name: string, options: { stack?: string } = {}): Promise<boolean> {
  try {
    const network = docker.getNetwork(name);
    if (options.stack !== undefined) {
      const owner = ((await network.inspect()) as { Labels?: Record<string, string> | null }).Labels?.[LABEL_STACK];
      if (owner !== undefined && owner !== options.stack) return false;
    }
    await network.remove();
    return true;
  } catch {
    // In use by another stack, or already gone: either way, not ours to force.
    return false;
  }
}
