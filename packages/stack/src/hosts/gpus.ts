import { detectGpusViaDocker, inspectImage, type GpuInfo } from '@inferstack/docker-ops';
import type { StackContext } from '../context.js';
import type { ReachedHost } from './hosts.js';

const asked = new WeakMap<StackContext, Map<string, Promise<GpuInfo[] | 'unavailable'>>>();

/**
 * A host's GPUs, asked once per stack context (a plan and the `up` that carries it out share
 * the answer): this machine's `nvidia-smi` for the default host when its daemon runs here, else
 * a short `--gpus all` container (labelled as the stack's, removed at once) with the first of
 * `images` the host has already. `'unavailable'` when none answers.
 */
export function hostGpus(ctx: StackContext, reached: ReachedHost, images: readonly string[]): Promise<GpuInfo[] | 'unavailable'> {
  let hosts = asked.get(ctx);
  if (!hosts) asked.set(ctx, (hosts = new Map()));
  let gpus = hosts.get(reached.host.name);
  if (!gpus) {
    gpus = (async () => {
      if (reached.host.local && ctx.local) return ctx.localGpus();
      const present = await Promise.all([...new Set(images)].map(async (i) => ((await inspectImage(reached.docker, i)) ? i : undefined)));
      const image = present.find((i) => i !== undefined);
      return image ? detectGpusViaDocker(reached.docker, image, { labels: ctx.labels }) : 'unavailable';
    })();
    hosts.set(reached.host.name, gpus);
  }
  return gpus;
}
