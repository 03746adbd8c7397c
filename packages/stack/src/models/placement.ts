import { DEFAULT_GPU_MEMORY_UTILIZATION, parseGpuLabel, type ModelSpec } from '@inferstack/config';
import { hostsOfModel } from '../hosts/hosts.js';
import { planPlacement, type GpuHolding, type GpuInfo, type ModelContainer, type ReplicaRequest } from '@inferstack/docker-ops';

/*
 * Where each replica of a `gpus: auto` model goes: docker-ops' `planPlacement` over the GPUs of
 * every host the model may run on (its `placementHosts`), as `nvidia-smi` reads them now, less
 * what the stack's models with fixed GPUs hold there, with the replicas that exist where they
 * run (their container's `inferstack.gpus` label: a replica that runs is never moved).
 */

/** Where one replica goes (its host and GPUs), and why, for the plan. */
export interface PlacedReplica {
  host: string;
  gpus: number[];
  reason: string;
  /**
   * A replaced replica whose new container fits nowhere beside the old one: it goes on the old
   * one's GPUs, after the old one (a replacement in place; the model's other replicas serve).
   */
  inPlace?: boolean;
}

/** What placement reads of one Docker host. */
export interface PlacementView {
  /** Its name (`local` for the default host). */
  name: string;
  /** Its GPUs now, or `'unavailable'`. */
  gpus: readonly GpuInfo[] | 'unavailable';
  /** The specs (one per replica) that run there and are not placed: those with fixed GPUs hold their share. */
  fixed: readonly ModelSpec[];
  /** The stack's model containers there. */
  containers: readonly ModelContainer[];
  /** Replicas (`key#replica`) the plan replaces there: the new container is placed beside the old one, which holds its GPUs until then. */
  replacing: ReadonlySet<string>;
}

/** The placement of the `gpus: auto` replicas: each placed one by `key#replica`, and those that fit nowhere. */
export interface Placement {
  placed: Map<string, PlacedReplica>;
  /** Each with the model's key and replica, and one line saying why. */
  unplaced: Array<{ key: string; replica: number; why: string }>;
}

/** `key#replica` of a spec or a container. */
export function replicaId(key: string, replica: number | undefined): string {
  return `${key}#${replica ?? 0}`;
}

/** Whether serve places a model's replicas itself: `gpus: auto` with more than one replica or more than one host (one replica on one host asks Docker for a count). */
export function isPlaced(m: Pick<ModelSpec, 'gpus' | 'replicas' | 'placementHosts'>): boolean {
  return m.gpus.kind === 'auto' && (m.replicas.max > 1 || (m.placementHosts?.length ?? 1) > 1);
}

/**
 * Place `auto` (one spec per replica of the models {@link isPlaced} says serve places) over the
 * hosts in `views`. Pure. A host a model may run on that is not among `views` (not reached) keeps
 * the replicas that run there and takes no new one.
 */
export function placeReplicas(views: readonly PlacementView[], auto: readonly ModelSpec[]): Placement {
  const placed = new Map<string, PlacedReplica>();
  if (auto.length === 0) return { placed, unplaced: [] };
  const utilization = (s: ModelSpec) => s.gpuMemoryUtilization ?? DEFAULT_GPU_MEMORY_UTILIZATION;
  const held: GpuHolding[] = [];
  for (const v of views) {
    const all = v.gpus === 'unavailable' ? [] : v.gpus.map((g) => g.index);
    const running = (key: string, replica: number) => v.containers.some((c) => c.key === key && c.replica === replica && c.state === 'running');
    // Models with fixed GPUs hold their share there; awake and running, nvidia-smi shows it already.
    for (const s of v.fixed) {
      if (s.gpus.kind !== 'devices' && s.gpus.kind !== 'all') continue;
      held.push({ key: s.key, host: v.name, gpus: s.gpus.kind === 'devices' ? s.gpus.indices : all, utilization: utilization(s), measured: running(s.key, s.replica ?? 0) });
    }
  }
  // Where a replica's container runs (the first found with its GPUs in its label).
  const current = (s: ModelSpec): { host: string; gpus: number[]; running: boolean; replacing: boolean } | undefined => {
    for (const v of views) {
      const c = v.containers.find((x) => x.key === s.key && x.replica === (s.replica ?? 0));
      const label = c?.gpus ? parseGpuLabel(c.gpus) : undefined;
      if (c && label?.kind === 'devices') return { host: v.name, gpus: label.indices, running: c.state === 'running', replacing: v.replacing.has(replicaId(s.key, s.replica)) };
    }
    return undefined;
  };
  // The old container of a replaced replica holds its GPUs while the new one starts.
  for (const s of auto) {
    const was = current(s);
    if (was?.replacing) held.push({ key: `${replicaId(s.key, s.replica)} (old)`, host: was.host, gpus: was.gpus, utilization: utilization(s), measured: was.running });
  }
  const requests: ReplicaRequest[] = auto.map((s) => {
    const was = current(s);
    return {
      key: s.key,
      replica: s.replica ?? 0,
      gpuCount: s.gpus.kind === 'auto' ? s.gpus.count : 1,
      ...(s.gpuMemoryUtilization !== undefined ? { utilization: s.gpuMemoryUtilization } : {}),
      hosts: hostsOfModel(s),
      ...(was && !was.replacing ? { current: { host: was.host, gpus: was.gpus, measured: was.running } } : {}),
    };
  });
  const result = planPlacement({ hosts: views.map((v) => ({ name: v.name, gpus: v.gpus })), held, replicas: requests });
  const unplaced: Placement['unplaced'] = [];
  for (const r of result.replicas) {
    const id = replicaId(r.key, r.replica);
    if (r.outcome !== 'unplaced') {
      placed.set(id, { host: r.host, gpus: r.gpus, reason: r.reason });
      continue;
    }
    const was = current(auto.find((s) => s.key === r.key && (s.replica ?? 0) === r.replica)!);
    if (was) {
      placed.set(id, { host: was.host, gpus: was.gpus, reason: `no other GPUs have room beside the old container: replaced in place on ${was.gpus.length === 1 ? 'GPU' : 'GPUs'} ${was.gpus.join(', ')} of ${was.host}`, inPlace: true });
      continue;
    }
    const why = r.considered.filter((c) => c.why).map((c) => `${c.host}: ${c.why}`);
    unplaced.push({ key: r.key, replica: r.replica, why: `${r.key}${r.replica ? `#${r.replica}` : ''}: ${r.reason}${why.length ? ` (${why.join('; ')})` : ''}` });
  }
  return { placed, unplaced };
}
