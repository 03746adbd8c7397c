import { DEFAULT_GPU_MEMORY_UTILIZATION, parseGpuLabel, type GpuSelection } from '@inferstack/config';
import type { ModelChange } from './changes.js';
import { replicaLabel } from './replicas.js';

/** One GPU's load: which models hold memory on it, and their `gpu-memory-utilization` summed. */
export interface GpuLoad {
  /** The GPU's index, or `all` for models given every GPU when the GPUs are not known. */
  gpu: string;
  models: Array<{ key: string; utilization: number }>;
  sum: number;
}

/** The GPUs before a plan (what runs now) and after it (what the config wants). */
export interface GpuMap {
  before: GpuLoad[];
  after: GpuLoad[];
}

/**
 * The GPUs a selection covers; `all` is every known GPU, or one pseudo-GPU `all`. An `auto`
 * model not placed yet covers none here: placement puts it where it fits (and a placed replica's
 * label names its GPUs, which read back as a list).
 */
function gpusOf(selection: GpuSelection, known: readonly number[]): string[] {
  if (selection.kind === 'none' || selection.kind === 'auto') return [];
  if (selection.kind === 'devices') return selection.indices.map(String);
  return known.length > 0 ? known.map(String) : ['all'];
}

/** `key` is the model's key, `key#i` for a replica other than the first: each replica holds its own share. */
type Holder = { key: string; gpus: string[]; utilization: number };

/** What holds memory now: the running containers of the plan. */
function holdersBefore(changes: readonly ModelChange[], known: readonly number[]): Holder[] {
  const out: Holder[] = [];
  for (const c of changes) {
    if (!('container' in c) || c.container.state !== 'running') continue;
    const spec = 'spec' in c ? c.spec : undefined;
    const utilization = c.container.gpuMemoryUtilization ?? spec?.gpuMemoryUtilization ?? DEFAULT_GPU_MEMORY_UTILIZATION;
    const gpus = c.container.gpus !== undefined ? parseGpuLabel(c.container.gpus) : (spec?.gpus ?? { kind: 'none' as const });
    out.push({ key: replicaLabel(c.key, c.replica), gpus: gpusOf(gpus, known), utilization });
  }
  return out;
}

/**
 * What holds memory once the plan is done: every model (and replica) the config runs. A placed
 * `gpus: auto` replica holds the GPUs placement gave it, or, kept, those it runs on.
 */
function holdersAfter(changes: readonly ModelChange[], known: readonly number[]): Holder[] {
  return changes.flatMap((c) => {
    if (!('spec' in c)) return [];
    const kept = c.spec.gpus.kind === 'auto' && 'container' in c && c.container.gpus !== undefined ? parseGpuLabel(c.container.gpus) : undefined;
    const gpus = c.gpuDevices ? c.gpuDevices.map(String) : gpusOf(kept ?? c.spec.gpus, known);
    return [{ key: replicaLabel(c.key, c.replica), gpus, utilization: c.spec.gpuMemoryUtilization ?? DEFAULT_GPU_MEMORY_UTILIZATION }];
  });
}

function loads(holders: readonly Holder[]): GpuLoad[] {
  const byGpu = new Map<string, GpuLoad>();
  for (const h of holders) {
    for (const gpu of h.gpus) {
      const load = byGpu.get(gpu) ?? { gpu, models: [], sum: 0 };
      load.models.push({ key: h.key, utilization: h.utilization });
      load.sum = Math.round((load.sum + h.utilization) * 100) / 100;
      byGpu.set(gpu, load);
    }
  }
  return [...byGpu.values()].sort((a, b) => (a.gpu === 'all' ? 1 : b.gpu === 'all' ? -1 : Number(a.gpu) - Number(b.gpu)));
}

/**
 * Per GPU, which models hold memory and their `gpu-memory-utilization` summed, before and after
 * the plan. Pure. `known` are the GPU indices of the host (what `gpus: all` means), when known.
 */
export function gpuMap(changes: readonly ModelChange[], known: readonly number[] = []): GpuMap {
  return { before: loads(holdersBefore(changes, known)), after: loads(holdersAfter(changes, known)) };
}

/**
 * How a changed model is replaced. `rolling`: the new container starts beside the old one and
 * takes over once ready (no downtime); possible only when, on every GPU either uses, everything
 * there (the other models at the larger of their before and after share, the old container and
 * the new one) sums to at most 1. Otherwise, or when the old container is broken anyway,
 * `in-place`: the old one goes first (downtime), with the reason.
 */
export function replacementStrategy(
  change: Extract<ModelChange, { action: 'recreate' }>,
  changes: readonly ModelChange[],
  known: readonly number[] = [],
): { strategy: 'rolling' | 'in-place'; why?: string } {
  if (change.reason === 'crashed' || change.reason === 'unhealthy') return { strategy: 'in-place', why: `the running container is ${change.reason}` };
  if (change.spec.replace === 'in-place') return { strategy: 'in-place', why: 'replace: in-place in models.yaml' };
  const before = holdersBefore(changes, known);
  const after = holdersAfter(changes, known);
  const unit = replicaLabel(change.key, change.replica);
  const old = before.find((h) => h.key === unit);
  const next = after.find((h) => h.key === unit);
  for (const gpu of new Set([...(old?.gpus ?? []), ...(next?.gpus ?? [])])) {
    let sum = 0;
    for (const key of new Set([...before, ...after].map((h) => h.key))) {
      if (key === unit) continue;
      const share = (list: Holder[]) => list.find((h) => h.key === key && h.gpus.includes(gpu))?.utilization ?? 0;
      sum += Math.max(share(before), share(after));
    }
    const oldShare = old?.gpus.includes(gpu) ? old.utilization : 0;
    const newShare = next?.gpus.includes(gpu) ? next.utilization : 0;
    const total = Math.round((sum + oldShare + newShare) * 100) / 100;
    if (total > 1) {
      return {
        strategy: 'in-place',
        why: `GPU ${gpu} cannot hold the old and the new container at once (${total.toFixed(2)}: old ${oldShare.toFixed(2)} + new ${newShare.toFixed(2)}${sum > 0 ? ` + others ${sum.toFixed(2)}` : ''})`,
      };
    }
  }
  return { strategy: 'rolling' };
}
