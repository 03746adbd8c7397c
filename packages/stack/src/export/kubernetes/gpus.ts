import type { ModelSpec } from '@inferstack/config';
import type { ContainerBody } from '@inferstack/docker-ops';
import type { RenderContext } from './types.js';

/* How many GPUs a model's pod asks for, and what differs from Docker's GPU sharing. */

/** The value of a vLLM flag in argv (`--x v`, `--x=v`, underscores or hyphens), if given. */
function flagValue(args: readonly string[], names: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const [flag = '', inline] = (args[i] ?? '').split(/=(.*)/s, 2);
    const normal = flag.startsWith('--') ? `--${flag.slice(2).replaceAll('_', '-')}` : flag;
    if (names.includes(normal)) return inline ?? args[i + 1];
  }
  return undefined;
}

/**
 * How many GPUs vLLM uses: tensor × pipeline × data parallel size (each 1 unless given). A model
 * with `gpus: all` gets this many on Kubernetes, which has no "every GPU of the node".
 */
export function vllmWorldSize(spec: Pick<ModelSpec, 'vllmArgs' | 'tensorParallelSize'>): number {
  const size = (names: string[]) => {
    const n = Number(flagValue(spec.vllmArgs, names));
    return Number.isInteger(n) && n > 0 ? n : 1;
  };
  return (spec.tensorParallelSize ?? size(['--tensor-parallel-size', '-tp'])) * size(['--pipeline-parallel-size', '-pp']) * size(['--data-parallel-size', '-dp']);
}

/** `nvidia.com/gpu` of a model: the listed devices' count, the count of `auto`, the world size for `all`, none for `none`. */
export function gpuCount(c: RenderContext, spec: ModelSpec, create: ContainerBody): number {
  const request = create.HostConfig?.DeviceRequests?.[0];
  if (!request) return 0;
  if (request.DeviceIDs && request.DeviceIDs.length > 0) {
    const n = request.DeviceIDs.length;
    const used = vllmWorldSize(spec);
    if (used !== n) c.notes.push(`${spec.key}: gets ${n} GPUs, as on Docker, but vLLM uses ${used} (tensor × pipeline × data parallel size): set tensor-parallel-size to ${n}, or list ${used}`);
    return n;
  }
  // gpus: auto asks for a count already (as many as vLLM uses): Kubernetes picks them, as serve would.
  if (spec.gpus.kind === 'auto') return spec.gpus.count;
  const n = vllmWorldSize(spec);
  c.notes.push(`${spec.key}: gpus: all becomes ${n} GPU${n === 1 ? '' : 's'} (nvidia.com/gpu: ${n}, the tensor × pipeline × data parallel size): Kubernetes has no "every GPU of the node"`);
  return n;
}

/** Docker gives models overlapping GPUs; Kubernetes gives every pod GPUs of its own. */
export function sharedGpuNotes(c: RenderContext, models: readonly ModelSpec[]): void {
  const owner = new Map<number, string>();
  for (const m of models) {
    if (m.gpus.kind !== 'devices') continue;
    for (const i of m.gpus.indices) {
      const other = owner.get(i);
      if (other) c.notes.push(`${other} and ${m.key} share GPU ${i} on Docker; on Kubernetes each pod gets whole GPUs of its own unless the device plugin shares them (time-slicing or MPS)`);
      else owner.set(i, m.key);
    }
  }
}
