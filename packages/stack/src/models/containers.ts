import { containersOfStack, listClaims, listDaemonContainers, listModelContainers, type DaemonContainers, type DockerClient, type ModelContainer } from '@inferstack/docker-ops';
import type { StackContext } from '../context.js';
import { hasSeveralHosts, onEachHost, reachHosts, type HostFailure } from '../hosts/hosts.js';

/**
 * The stack's model containers, from one listing: those labelled with its name, and those of
 * the old tool (no stack label) that it adopted, or may adopt because they run one of its models
 * or sit on its network, unless another stack adopted them first.
 */
export async function stackContainers(ctx: StackContext, keys: readonly string[] = ctx.config.models.map((m) => m.key), on?: { host: string; docker: DockerClient }): Promise<ModelContainer[]> {
  const docker = on?.docker ?? (await ctx.docker());
  const [all, claims] = await Promise.all([listModelContainers(docker), listClaims(docker)]);
  const mine = containersOfStack(all, { name: ctx.name, network: ctx.config.network, keys, claims });
  // Which host each was found on: the gateway and Prometheus reach it according to that.
  if (on) for (const c of mine) c.host = on.host;
  return mine;
}

/**
 * For a plan: the stack's model containers (as {@link stackContainers}) and every container on
 * the daemon, whose names the plan checks before `up` takes them, from one listing.
 */
export async function stackContainersForPlan(
  ctx: StackContext,
  keys: readonly string[],
  on: { host: string; docker: DockerClient },
): Promise<{ mine: ModelContainer[]; daemon: DaemonContainers }> {
  const daemon = await listDaemonContainers(on.docker);
  const mine = containersOfStack(daemon.models, { name: ctx.name, network: ctx.config.network, keys, claims: daemon.claims });
  for (const c of mine) c.host = on.host;
  return { mine, daemon };
}

/**
 * The stack's model containers on every host (each tagged with its host), and the hosts that
 * could not be asked (reported as events). With one host: {@link stackContainers}.
 */
export async function allStackContainers(ctx: StackContext, keys?: readonly string[]): Promise<{ containers: ModelContainer[]; failed: HostFailure[] }> {
  if (!hasSeveralHosts(ctx.config)) return { containers: await stackContainers(ctx, keys), failed: [] };
  const { reached, failed } = await reachHosts(ctx);
  const listed = await onEachHost(ctx, reached, (r) => stackContainers(ctx, keys, { host: r.host.name, docker: r.docker }));
  return { containers: listed.results.flatMap((r) => r.value), failed: [...failed, ...listed.failed] };
}
