import { containersOfStack, listClaims, listModelContainers, type ModelContainer } from '@inferstack/docker-ops';
import type { StackContext } from './context.js';

/**
 * The stack's model containers, from one listing: those labelled with its name, and those of
 * the old tool (no stack label) that it adopted, or may adopt because they run one of its models
 * or sit on its network, unless another stack adopted them first.
 */
export async function stackContainers(ctx: StackContext, keys: readonly string[] = ctx.config.models.map((m) => m.key)): Promise<ModelContainer[]> {
  const docker = await ctx.docker();
  const [all, claims] = await Promise.all([listModelContainers(docker), listClaims(docker)]);
  return containersOfStack(all, { name: ctx.name, network: ctx.config.network, keys, claims });
}
