import { containerLogs, followContainerLogs } from '@inferstack/docker-ops';
import { stackContainers } from '../models/containers.js';
import type { StackContext } from '../context.js';
import { StackInputError } from '../errors.js';
import { hasSeveralHosts, hostNamed, hostsOfModel, onEachHost, reachHosts } from '../hosts/hosts.js';

/** Options of `logs`. */
export interface LogsOptions {
  /** Lines from the end. @default all */
  tail?: number;
  /**
   * Keep reading new lines until the signal aborts or the container stops; each piece of text is
   * given to `onData` as it arrives.
   */
  follow?: boolean;
  onData?: (text: string) => void;
}

/**
 * A model's log (its running container's, else its newest). Without `follow` the text is
 * returned; with it, passed to `onData` as it comes. The caller masks secrets before showing it.
 */
export async function logs(ctx: StackContext, model: string, options: LogsOptions = {}): Promise<string> {
  // The model's own hosts when the config names it (else every host: a model no longer configured).
  const spec = ctx.config.models.find((m) => m.key === model);
  const hosts = spec && hasSeveralHosts(ctx.config) ? hostsOfModel(spec).flatMap((h) => hostNamed(ctx.config, h) ?? []) : undefined;
  const { reached, failed } = await reachHosts(ctx, { ...(hosts ? { hosts } : {}) });
  const listed = await onEachHost(ctx, reached, async (r) => (await stackContainers(ctx, undefined, { host: r.host.name, docker: r.docker })).filter((c) => c.key === model));
  const found = listed.results.flatMap((r) => r.value.map((c) => ({ c, docker: reached.find((x) => x.host === r.host)!.docker })));
  const pick = found.find((f) => f.c.state === 'running') ?? found[0];
  if (!pick) {
    const unreachable = [...failed, ...listed.failed];
    if (unreachable.length > 0) throw unreachable[0]!.error;
    throw new StackInputError(`no container for model "${model}"`, { hint: 'see "serve status" for the models that have one' });
  }
  const { c: container, docker } = pick;
  if (!options.follow) return containerLogs(docker, container.id, options.tail ?? 100_000);
  await followContainerLogs(docker, container.id, { tail: options.tail, signal: ctx.signal, onData: options.onData ?? (() => {}) });
  return '';
}
