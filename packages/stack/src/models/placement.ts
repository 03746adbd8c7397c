import { DEFAULT_GPU_MEMORY_UTILIZATION, parseGpuLabel, type ModelSpec } from '@inferstack/config';
import { planPlacement, type GpuHolding, type GpuInfo, type ModelContainer, type ReplicaRequest } from '@inferstack/docker-ops';

/*
 * The GPUs of each replica of a `gpus: auto` model on one Docker host: docker-ops'
 * `planPlacement` over the host's GPUs as `nvidia-smi` reads them now, what the stack's models
 * with fixed GPUs hold there, and where the replicas that exist run (their `inferstack.gpus`
 * label: a replica that runs is never moved).
 */

/** Where one replica goes (its GPUs), and why, for the plan. */
export interface PlacedReplica {
  gpus: number[];
  reason: string;
  /**
   * A replaced replica whose new container fits nowhere beside the old one: it goes on the old
   * one's GPUs, after the old one (a replacement in place; the model's other replicas serve).
   */
  inPlace?: boolean;
}

/** The placement of a host's `gpus: auto` replicas: each placed one by `key#replica`, and the reasons of those that fit nowhere. */
export interface HostPlacement {
  placed: Map<string, PlacedReplica>;
  unplaced: string[];
}

/** `key#replica` of a spec or a container. */
export function replicaId(key: string, replica: number | undefined): string {
  return `${key}#${replica ?? 0}`;
}

/**
 * Place the `gpus: auto` replicas among `specs` (one spec per replica) on host `host`, whose GPUs
 * are `gpus`. Pure. `containers` are the stack's model containers there.
 */
export function placeOnHost(
  host: string,
  gpus: readonly GpuInfo[] | 'unavailable',
  specs: readonly ModelSpec[],
  containers: readonly ModelContainer[],
  /** Replicas (`key#replica`) the plan replaces: the new container is placed beside the old one, which holds its GPUs until then. */
  replacing: ReadonlySet<string> = new Set(),
): HostPlacement {
  const auto = specs.filter((s) => s.gpus.kind === 'auto');
  const placed = new Map<string, PlacedReplica>();
  if (auto.length === 0) return { placed, unplaced: [] };
  const all = gpus === 'unavailable' ? [] : gpus.map((g) => g.index);
  const running = (key: string, replica: number) => containers.find((c) => c.key === key && c.replica === replica && c.state === 'running');
  // Models with fixed GPUs hold their share there; awake and running, nvidia-smi shows it already.
  const held: GpuHolding[] = specs.flatMap((s) => {
    if (s.gpus.kind !== 'devices' && s.gpus.kind !== 'all') return [];
    const indices = s.gpus.kind === 'devices' ? s.gpus.indices : all;
    return [{ key: s.key, host, gpus: indices, utilization: s.gpuMemoryUtilization ?? DEFAULT_GPU_MEMORY_UTILIZATION, measured: running(s.key, s.replica ?? 0) !== undefined }];
  });
  const current = (s: ModelSpec) => {
    const existing = containers.find((c) => c.key === s.key && c.replica === (s.replica ?? 0));
    const label = existing?.gpus ? parseGpuLabel(existing.gpus) : undefined;
    return label?.kind === 'devices' ? { gpus: label.indices, running: existing?.state === 'running' } : undefined;
  };
  // The old container of a replaced replica holds its GPUs while the new one starts.
  for (const s of auto) {
    const was = current(s);
    if (was && replacing.has(replicaId(s.key, s.replica))) {
      held.push({ key: `${replicaId(s.key, s.replica)} (old)`, host, gpus: was.gpus, utilization: s.gpuMemoryUtilization ?? DEFAULT_GPU_MEMORY_UTILIZATION, measured: was.running });
    }
  }
  const requests: ReplicaRequest[] = auto.map((s) => {
    const replica = s.replica ?? 0;
    const was = replacing.has(replicaId(s.key, replica)) ? undefined : current(s);
    return {
      key: s.key,
      replica,
      gpuCount: s.gpus.kind === 'auto' ? s.gpus.count : 1,
      ...(s.gpuMemoryUtilization !== undefined ? { utilization: s.gpuMemoryUtilization } : {}),
      hosts: [host],
      ...(was ? { current: { host, gpus: was.gpus, measured: was.running } } : {}),
    };
  });
  const result = planPlacement({ hosts: [{ name: host, gpus }], held, replicas: requests });
  const unplaced: string[] = [];
  for (const r of result.replicas) {
    const was = r.outcome === 'unplaced' ? current(auto.find((s) => s.key === r.key && (s.replica ?? 0) === r.replica)!) : undefined;
    if (r.outcome === 'unplaced' && was) {
      placed.set(replicaId(r.key, r.replica), { gpus: was.gpus, reason: `no other GPUs have room beside the old container: replaced in place on ${was.gpus.length === 1 ? 'GPU' : 'GPUs'} ${was.gpus.join(', ')} of ${host}`, inPlace: true });
    } else if (r.outcome === 'unplaced') {
      const why = r.considered.filter((c) => c.why).map((c) => `${c.host}: ${c.why}`);
      unplaced.push(`${r.key}${r.replica ? `#${r.replica}` : ''}: ${r.reason}${why.length ? ` (${why.join('; ')})` : ''}`);
    }
    else placed.set(replicaId(r.key, r.replica), { gpus: r.gpus, reason: r.reason });
  }
  return { placed, unplaced };
}
