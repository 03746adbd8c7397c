/**
 * Where the replicas of `gpus: auto` models go: which host, which GPUs. Pure: the GPUs as the
 * pre-flight saw them, what the stack's other models hold, and the replicas (with where those
 * that exist already run) in; a place and a reason per replica out, or why it fits nowhere.
 * `serve plan` shows the reasons; `serve up` creates each replica on its GPUs
 * (`modelContainerOptions(spec, { gpuDevices })`, which keeps them in the `inferstack.gpus` label
 * the next placement reads back).
 */
import { DEFAULT_GPU_MEMORY_UTILIZATION } from '@inferstack/config';
import { DockerOpsError } from './errors.js';
import { formatGiB, type GpuInfo } from './gpu.js';

/** One Docker host's GPUs, as the pre-flight read them (`detectGpusLocally`, `detectGpusViaDocker`). */
export interface PlacementHost {
  /** Its name: a `hosts:` key, or `local`. */
  name: string;
  /** Its GPUs now, or `'unavailable'` when `nvidia-smi` could not be read there. */
  gpus: readonly GpuInfo[] | 'unavailable';
}

/** Memory a model that placement does not move holds on GPUs of a host: one with fixed GPUs, say. */
export interface GpuHolding {
  /** The model's key (for reasons and {@link GpuRoom.holders}). */
  key: string;
  host: string;
  /** The GPUs vLLM loads onto (the first `tensor-parallel-size` of those it is given). */
  gpus: readonly number[];
  /** Its `gpu-memory-utilization`: the fraction of each of those GPUs it takes. @default DEFAULT_GPU_MEMORY_UTILIZATION */
  utilization?: number;
  /**
   * Its memory is in the pre-flight's `used` already (it runs and is awake), so it is not taken
   * off the free memory again. Unset: it will take its share (it starts in this run, sleeps, or
   * was stopped for being idle) and `nvidia-smi` does not show it yet.
   * @default false
   */
  measured?: boolean;
}

/** One replica to place. */
export interface ReplicaRequest {
  /** The model's key. */
  key: string;
  /** Its index among the model's replicas (0 for the first). */
  replica: number;
  /** How many GPUs it needs, on one host (`gpus: auto`'s count: tensor × pipeline × data parallel size). */
  gpuCount: number;
  /** Its `gpu-memory-utilization`: the fraction of each of its GPUs it takes. @default DEFAULT_GPU_MEMORY_UTILIZATION */
  utilization?: number;
  /** The hosts it may go to, in order of preference (the model's `placementHosts`). */
  hosts: readonly string[];
  /**
   * Where it runs now, for a replica that exists (read back from its container's `inferstack.gpus`
   * label): it stays there, unless that host is no longer one of `hosts` or it needs another
   * number of GPUs now. `measured` as in {@link GpuHolding}.
   */
  current?: { host: string; gpus: readonly number[]; measured?: boolean };
}

/** Input of {@link planPlacement}. */
export interface PlacementInput {
  hosts: readonly PlacementHost[];
  /** What the stack's other models hold (or will hold) on the hosts' GPUs. @default [] */
  held?: readonly GpuHolding[];
  replicas: readonly ReplicaRequest[];
  /** The utilisation of a model or replica that sets none. @default DEFAULT_GPU_MEMORY_UTILIZATION */
  defaultUtilization?: number;
}

/** Why a host could not take a replica. */
export interface HostVerdict {
  host: string;
  why: string;
}

/** Where one replica goes, or why it goes nowhere; in the order of {@link PlacementInput.replicas}. */
export type ReplicaPlacement =
  | {
      key: string;
      replica: number;
      /** `kept`: it exists and stays; `placed`: new (or moved: its reason says from where). */
      outcome: 'kept' | 'placed';
      host: string;
      /** Its GPUs, ascending: `gpuDevices` of its container. */
      gpus: number[];
      /** One line for `serve plan`: where, and why there. */
      reason: string;
    }
  | {
      key: string;
      replica: number;
      outcome: 'unplaced';
      /** One line for `serve plan`: what it needs that no host has. */
      reason: string;
      /** Every host it may go to, in its order, with what that host lacked. */
      considered: HostVerdict[];
    };

/** One GPU once the replicas are placed: for the plan's GPU map. */
export interface GpuRoom {
  host: string;
  gpu: number;
  totalMiB: number;
  /** Free now, less what is held there and not measured yet, less the replicas placed there (whole MiB). */
  availableMiB: number;
  /** Who holds memory there: held models' keys, and replicas as `<key>#<replica>`. */
  holders: string[];
}

/** Result of {@link planPlacement}. */
export interface Placement {
  replicas: ReplicaPlacement[];
  /** Every GPU of every host whose GPUs are known, by host (input order) and index. */
  room: GpuRoom[];
}

interface GpuState {
  info: GpuInfo;
  available: number;
  holders: string[];
  /** Replicas on it, by model key. */
  replicasOf: Map<string, number>;
}

interface HostState {
  name: string;
  /** `unknown`: not among the input's hosts (not reached), though replicas may run there. */
  gpus: GpuState[] | 'unavailable' | 'unknown';
  replicasOf: Map<string, number>;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const where = (host: string, gpus: readonly number[]) => `${gpus.length === 1 ? 'GPU' : 'GPUs'} ${gpus.join(', ')} of ${host}`;
const bump = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);

/**
 * Decide where each replica of a `gpus: auto` model goes. Deterministic (the same input gives the
 * same answer, whatever the order of `hosts` and `replicas`) and stable:
 *
 * 1. A replica that exists stays where it runs (`kept`), on its host and GPUs, so a placement never
 *    moves a serving replica because the memory elsewhere changed. Only one whose host is no longer
 *    among its hosts, or that needs another number of GPUs now, is placed again (it would be
 *    recreated anyway).
 * 2. Memory: a GPU can take a replica when its memory free now (`nvidia-smi`), less what the
 *    stack's other models will take there and the pre-flight does not show yet (held, not
 *    `measured`), less the replicas placed on it before, is at least the replica's share of the
 *    GPU (`utilization × total`, vLLM's own start check). A replica needs `gpuCount` such GPUs
 *    on one host.
 * 3. Among the hosts and GPUs that can take it: spread the model's replicas, first over hosts
 *    (the host with the fewest replicas of the model), then over GPUs (the GPUs with the fewest);
 *    then the most free memory (of the chosen GPUs, the least free one counts); then the order of
 *    the replica's `hosts` and the GPU index.
 *
 * New replicas are placed the largest first (more GPUs, then a larger share), so a
 * tensor-parallel replica finds its GPUs before single-GPU replicas scatter over them. GPU
 * topology (NVLink pairs) is not considered.
 */
export function planPlacement(input: PlacementInput): Placement {
  const defaultUtilization = input.defaultUtilization ?? DEFAULT_GPU_MEMORY_UTILIZATION;
  const hosts = new Map<string, HostState>();
  for (const h of input.hosts) {
    hosts.set(h.name, {
      name: h.name,
      gpus:
        h.gpus === 'unavailable'
          ? 'unavailable'
          : [...h.gpus].sort((a, b) => a.index - b.index).map((info) => ({ info, available: info.freeMiB, holders: [], replicasOf: new Map() })),
      replicasOf: new Map(),
    });
  }
  const hostState = (name: string): HostState => {
    const known = hosts.get(name);
    if (known) return known;
    const added: HostState = { name, gpus: 'unknown', replicasOf: new Map() };
    hosts.set(name, added);
    return added;
  };
  const gpuOf = (host: string, index: number): GpuState | undefined => {
    const gpus = hosts.get(host)?.gpus;
    return Array.isArray(gpus) ? gpus.find((g) => g.info.index === index) : undefined;
  };
  const take = (host: string, gpus: readonly number[], utilization: number, measured: boolean, holder: string, model?: string) => {
    if (model !== undefined) bump(hostState(host).replicasOf, model);
    for (const index of gpus) {
      const gpu = gpuOf(host, index);
      if (!gpu) continue;
      if (!measured) gpu.available -= gpu.info.totalMiB * utilization;
      gpu.holders.push(holder);
      if (model !== undefined) bump(gpu.replicasOf, model);
    }
  };

  for (const h of input.held ?? []) take(h.host, h.gpus, h.utilization ?? defaultUtilization, h.measured ?? false, h.key);

  const results = new Map<ReplicaRequest, ReplicaPlacement>();
  const moving = new Map<ReplicaRequest, string>();
  for (const r of input.replicas) {
    if (!Number.isInteger(r.gpuCount) || r.gpuCount < 1) throw new DockerOpsError(`${r.key} replica ${r.replica}: cannot place ${r.gpuCount} GPUs`, { hint: 'a gpus: auto model needs 1 GPU or more' });
    const current = r.current;
    if (!current) continue;
    // A GPU the host no longer has (known GPUs only: a host not read keeps its replicas).
    const gone = Array.isArray(hosts.get(current.host)?.gpus) ? current.gpus.find((i) => !gpuOf(current.host, i)) : undefined;
    const why = !r.hosts.includes(current.host)
      ? `${current.host} is no longer one of its hosts`
      : new Set(current.gpus).size !== r.gpuCount
        ? `it needs ${plural(r.gpuCount, 'GPU')} now`
        : gone !== undefined
          ? `${current.host} has no GPU ${gone} now`
          : undefined;
    if (why) {
      moving.set(r, `moves from ${where(current.host, current.gpus)} (${why}) to `);
      continue;
    }
    const gpus = [...new Set(current.gpus)].sort((a, b) => a - b);
    take(current.host, gpus, r.utilization ?? defaultUtilization, current.measured ?? false, `${r.key}#${r.replica}`, r.key);
    results.set(r, { key: r.key, replica: r.replica, outcome: 'kept', host: current.host, gpus, reason: `stays on ${where(current.host, gpus)}, where it runs` });
  }

  const pending = input.replicas
    .filter((r) => !results.has(r))
    .sort(
      (a, b) =>
        b.gpuCount - a.gpuCount ||
        (b.utilization ?? defaultUtilization) - (a.utilization ?? defaultUtilization) ||
        (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) ||
        a.replica - b.replica,
    );
  for (const r of pending) {
    const placed = placeOne(r, r.utilization ?? defaultUtilization, hosts);
    if (placed.outcome === 'placed') {
      take(placed.host, placed.gpus, r.utilization ?? defaultUtilization, false, `${r.key}#${r.replica}`, r.key);
      const prefix = moving.get(r);
      results.set(r, prefix ? { ...placed, reason: `${prefix}${placed.reason}` } : placed);
    } else {
      results.set(r, placed);
    }
  }

  const room: GpuRoom[] = [];
  for (const h of input.hosts) {
    const gpus = hosts.get(h.name)?.gpus;
    if (!Array.isArray(gpus)) continue;
    for (const g of gpus) room.push({ host: h.name, gpu: g.info.index, totalMiB: g.info.totalMiB, availableMiB: Math.round(g.available), holders: g.holders });
  }
  return { replicas: input.replicas.map((r) => results.get(r)!), room };
}

/** A host's best GPUs for a replica (and all that could take it), or why it has none. */
type Candidate = { host: HostState; order: number; gpus: GpuState[]; fitting: GpuState[] } | { host: string; why: string };

function placeOne(r: ReplicaRequest, utilization: number, hosts: Map<string, HostState>): ReplicaPlacement {
  const need = (g: GpuState) => g.info.totalMiB * utilization;
  const candidates: Candidate[] = r.hosts.map((name, order) => {
    const host = hosts.get(name);
    if (!host || host.gpus === 'unknown') return { host: name, why: 'its GPUs are not known' };
    if (host.gpus === 'unavailable') return { host: name, why: 'its GPUs could not be read (nvidia-smi)' };
    if (host.gpus.length === 0) return { host: name, why: 'has no GPU' };
    if (host.gpus.length < r.gpuCount) return { host: name, why: `has ${plural(host.gpus.length, 'GPU')}, needs ${r.gpuCount} on one host` };
    const fitting = host.gpus
      .filter((g) => g.available >= need(g))
      .sort((a, b) => (a.replicasOf.get(r.key) ?? 0) - (b.replicasOf.get(r.key) ?? 0) || b.available - a.available || a.info.index - b.info.index);
    if (fitting.length < r.gpuCount) {
      const most = [...host.gpus].sort((a, b) => b.available - a.available || a.info.index - b.info.index)[0]!;
      const needed = formatGiB(need(most));
      return {
        host: name,
        why:
          fitting.length === 0
            ? `no GPU has ${needed} free (the most: GPU ${most.info.index}, ${formatGiB(Math.max(0, most.available))})`
            : `${plural(fitting.length, 'GPU')} (${fitting.map((g) => g.info.index).sort((a, b) => a - b).join(', ')}) ${fitting.length === 1 ? 'has' : 'have'} ${needed} free, needs ${r.gpuCount}`,
      };
    }
    return { host, order, gpus: fitting.slice(0, r.gpuCount), fitting };
  });

  const usable = candidates.filter((c): c is Extract<Candidate, { gpus: GpuState[] }> => 'gpus' in c);
  const onHost = (c: { host: HostState }) => c.host.replicasOf.get(r.key) ?? 0;
  const onGpus = (c: { gpus: GpuState[] }) => c.gpus.reduce((n, g) => n + (g.replicasOf.get(r.key) ?? 0), 0);
  const least = (c: { gpus: GpuState[] }) => Math.min(...c.gpus.map((g) => g.available));
  const best = [...usable].sort((a, b) => onHost(a) - onHost(b) || onGpus(a) - onGpus(b) || least(b) - least(a) || a.order - b.order)[0];
  if (!best) {
    return {
      key: r.key,
      replica: r.replica,
      outcome: 'unplaced',
      reason: `no host has ${plural(r.gpuCount, 'GPU')} with ${utilization} of ${r.gpuCount === 1 ? 'its' : 'their'} memory free`,
      considered: candidates.map((c) => ({ host: typeof c.host === 'string' ? c.host : c.host.name, why: 'why' in c ? c.why : '' })),
    };
  }

  const gpus = best.gpus.map((g) => g.info.index).sort((a, b) => a - b);
  const free = least(best);
  const same = best.gpus.every((g) => g.available === free);
  const needed = formatGiB(Math.max(...best.gpus.map(need)));
  // "The most free memory" only when no GPU that could take it has more (spreading may pick less).
  const most = usable.every((c) => c.fitting.every((g) => best.gpus.includes(g) || g.available <= free));
  const memory =
    gpus.length === 1
      ? `${most ? 'the most free memory (' : ''}${formatGiB(free)}${most ? '' : ' free'}, needs ${needed}${most ? ')' : ''}`
      : `${most ? 'the most free memory (' : ''}${same ? '' : 'at least '}${formatGiB(free)} on each${most ? '' : ' free'}, needs ${needed} each${most ? ')' : ''}`;
  let spread = '';
  const elsewhere = [...hosts.values()].some((h) => h !== best.host && (h.replicasOf.get(r.key) ?? 0) > 0);
  if (onHost(best) === 0 && elsewhere) spread = `; the first replica of ${r.key} on ${best.host.name}`;
  else if (onHost(best) > 0) {
    const full = candidates.filter((c) => 'why' in c && (hosts.get(c.host)?.replicasOf.get(r.key) ?? 0) < onHost(best)).map((c) => (c as { host: string }).host);
    if (full.length > 0) spread = `; ${plural(onHost(best), 'replica')} of ${r.key} already on ${best.host.name}: ${full.join(', ')} ${full.length === 1 ? 'has' : 'have'} no room`;
  }
  return { key: r.key, replica: r.replica, outcome: 'placed', host: best.host.name, gpus, reason: `${where(best.host.name, gpus)}: ${memory}${spread}` };
}
