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
export function placeOnHost(host: string, gpus: readonly GpuInfo[] | 'unavailable', specs: readonly ModelSpec[], containers: readonly ModelContainer[]): HostPlacement {
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
  const requests: ReplicaRequest[] = auto.map((s) => {
    const replica = s.replica ?? 0;
    const existing = containers.find((c) => c.key === s.key && c.replica === replica);
    const label = existing?.gpus ? parseGpuLabel(existing.gpus) : undefined;
    return {
      key: s.key,
      replica,
      gpuCount: s.gpus.kind === 'auto' ? s.gpus.count : 1,
      ...(s.gpuMemoryUtilization !== undefined ? { utilization: s.gpuMemoryUtilization } : {}),
      hosts: [host],
      ...(label?.kind === 'devices' ? { current: { host, gpus: label.indices, measured: existing?.state === 'running' } } : {}),
    };
  });
  const result = planPlacement({ hosts: [{ name: host, gpus }], held, replicas: requests });
  const unplaced: string[] = [];
  for (const r of result.replicas) {
    if (r.outcome === 'unplaced') {
      const why = r.considered.filter((c) => c.why).map((c) => `${c.host}: ${c.why}`);
      unplaced.push(`${r.key}${r.replica ? `#${r.replica}` : ''}: ${r.reason}${why.length ? ` (${why.join('; ')})` : ''}`);
    }
    else placed.set(replicaId(r.key, r.replica), { gpus: r.gpus, reason: r.reason });
  }
  return { placed, unplaced };
}
