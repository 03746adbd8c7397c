import { containerLogs, followContainerLogs } from '@inferstack/docker-ops';
import { stackContainers } from './containers.js';
import type { StackContext } from './context.js';
import { StackInputError } from './errors.js';

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
  await ctx.resolve();
  const docker = await ctx.docker();
  const containers = (await stackContainers(ctx)).filter((c) => c.key === model);
  const container = containers.find((c) => c.state === 'running') ?? containers[0];
  if (!container) throw new StackInputError(`no container for model "${model}"`, { hint: 'see "serve status" for the models that have one' });
  if (!options.follow) return containerLogs(docker, container.id, options.tail ?? 100_000);
  await followContainerLogs(docker, container.id, { tail: options.tail, signal: ctx.signal, onData: options.onData ?? (() => {}) });
  return '';
}
