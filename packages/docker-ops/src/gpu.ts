/**
 * GPU pre-flight: what the GPUs are (`nvidia-smi`), and whether the models about to start fit
 * them, checked the way vLLM will check at start, so that problems are reported before any
 * container is touched.
 */
import { execFile } from 'node:child_process';
import { DEFAULT_GPU_MEMORY_UTILIZATION, type GpuSelection, type ModelSpec } from '@inferstack/config';
import { parseNvidiaSmi, NVIDIA_SMI_QUERY_ARGS, type GpuInfo } from './_nvidia-smi.js';

export {
  NVIDIA_SMI_QUERY_ARGS,
  NVIDIA_SMI_QUERY_FIELDS,
  parseNvidiaSmi,
  parseNvidiaSmiCsv,
  parseNvidiaSmiXml,
} from './_nvidia-smi.js';
export type { GpuInfo, GpuParseError, GpuParseResult } from './_nvidia-smi.js';

/**
 * Safety margin below the exact free/total ratio: free memory moves a little between our look and
 * vLLM's (CUDA context, other processes).
 */
const UTILIZATION_MARGIN = 0.02;

/**
 * The largest utilisation (2 decimals, rounded down) that vLLM's start check would accept on a GPU
 * with `free` of `total` free, keeping a 0.02 margin: `floor((free/total − 0.02) × 100) / 100`.
 * Units only need to agree (MiB or GiB). 0 or less means nothing fits.
 */
export function maxFittingUtilization(free: number, total: number): number {
  if (!(total > 0)) return 0;
  // The epsilon keeps 0.77 from becoming 0.76 through binary rounding.
  return Math.floor((free / total - UTILIZATION_MARGIN) * 100 + 1e-9) / 100;
}

/**
 * A model that will be started by this run (new, or recreated); a `ModelSpec` fits. Unset
 * `gpuMemoryUtilization` means vLLM's default; unset `tensorParallelSize` means 1.
 */
export type PlacementModel = Pick<ModelSpec, 'key' | 'gpus' | 'gpuMemoryUtilization' | 'tensorParallelSize' | 'swapGroup'>;

/**
 * A running container this run removes before starting the models: its memory will be freed.
 * Its spec as it was when created (e.g. read back from its labels); TP may be unknown.
 */
export type ReplacedModel = Pick<ModelSpec, 'key' | 'gpus' | 'gpuMemoryUtilization'> &
  Partial<Pick<ModelSpec, 'tensorParallelSize'>>;

/** Input of {@link checkGpuPlacement}. */
export interface GpuPlacementInput {
  /** The GPUs as seen now (`nvidia-smi`). */
  gpus: GpuInfo[];
  /** Models that will start, in start order. Models kept running are not listed: they are in `usedMiB`. */
  models: PlacementModel[];
  /** Running containers that will be removed first (e.g. the old containers of recreated models). */
  replacing?: ReplacedModel[];
  /** Utilisation assumed when a model sets none. @default DEFAULT_GPU_MEMORY_UTILIZATION */
  defaultUtilization?: number;
}

/** One model's share of a GPU, in an `insufficient-memory` problem. */
export interface GpuShare {
  key: string;
  utilization: number;
  /** True when the model sets no utilisation and vLLM's default was assumed. */
  defaulted: boolean;
}

/** A reason the models cannot start as configured. Plain data; {@link formatGpuProblems} words it. */
export type GpuProblem =
  | {
      kind: 'no-gpus';
      key: string;
    }
  | {
      kind: 'unknown-gpu';
      key: string;
      /** Indices in models.yaml that this machine does not have. */
      missing: number[];
      /** The indices it has. */
      available: number[];
    }
  | {
      kind: 'tp-exceeds-gpus';
      key: string;
      tensorParallelSize: number;
      /** How many GPUs the container gets. */
      gpuCount: number;
    }
  | {
      kind: 'insufficient-memory';
      gpu: number;
      gpuName?: string;
      totalMiB: number;
      freeMiB: number;
      /** Memory the replaced containers hold on this GPU and will give back. */
      freedMiB: number;
      /** `freeMiB + freedMiB`: what the first model to start will find. */
      availableMiB: number;
      /** `totalMiB × utilizationSum`: what the models starting here will take, one after another. */
      requiredMiB: number;
      models: GpuShare[];
      /** Keys of replaced containers whose memory was counted as freed. */
      replaced: string[];
      utilizationSum: number;
      /** The largest utilisation sum that fits (see {@link maxFittingUtilization}); ≤ 0 if none. */
      maxUtilization: number;
    };

/**
 * The GPUs a container's vLLM actually loads onto: the first `tensor-parallel-size` of those it is
 * given, in index order (CUDA numbers the GPUs a container sees in PCI order, which is
 * `nvidia-smi`'s index order). A container given more GPUs than its TP leaves the rest idle.
 */
function workingGpus(selection: GpuSelection, tp: number, existing: number[]): number[] {
  const given =
    selection.kind === 'all'
      ? existing
      : selection.kind === 'none' || selection.kind === 'auto'
        ? []
        : [...new Set(selection.indices)].filter((i) => existing.includes(i)).sort((a, b) => a - b);
  return given.slice(0, Math.max(1, tp));
}

const round2 = (n: number): number => Math.round(n * 100) / 100;

/**
 * Check that the models about to start fit the GPUs, reporting every problem at once:
 *
 * - every GPU index a model lists exists (`gpus: all` needs at least one GPU; `none` needs none);
 * - `tensor-parallel-size` is not more than the GPUs the container gets;
 * - memory, per GPU, as vLLM checks it. At start, each vLLM instance requires
 *   `free ≥ total × its utilisation` on each GPU it uses, and then keeps about that much. Models
 *   sharing a GPU start one after another, so the last to start finds
 *   `free − total × (sum of the others)`. Hence, per GPU:
 *   `free now + memory of replaced containers there ≥ total × sum(utilisations of models starting there)`.
 *   A replaced container is counted as giving back `total × its utilisation` (never more than
 *   `used`); a container kept running is already part of `used`. A model counts on the first
 *   `tensor-parallel-size` of its GPUs (see `workingGpus`).
 *
 * Pipeline or data parallelism set through other vLLM flags is not modelled.
 */
export function checkGpuPlacement(input: GpuPlacementInput): GpuProblem[] {
  const defaultUtilization = input.defaultUtilization ?? DEFAULT_GPU_MEMORY_UTILIZATION;
  const existing = input.gpus.map((g) => g.index).sort((a, b) => a - b);
  const problems: GpuProblem[] = [];
  const starting = new Map<number, GpuShare[]>();
  const freed = new Map<number, { mib: number; keys: string[] }>();
  const groupOf = new Map<string, GpuShare>();

  for (const model of input.models) {
    const tp = model.tensorParallelSize ?? 1;
    // `auto` models are placed by planPlacement, which checks their memory itself; once placed
    // they are listed GPUs (their containers' label says which).
    if (model.gpus.kind === 'none' || model.gpus.kind === 'auto') continue;
    if (model.gpus.kind === 'all' && existing.length === 0) {
      problems.push({ kind: 'no-gpus', key: model.key });
      continue;
    }
    if (model.gpus.kind === 'devices') {
      const missing = [...new Set(model.gpus.indices)].filter((i) => !existing.includes(i));
      if (missing.length > 0) problems.push({ kind: 'unknown-gpu', key: model.key, missing, available: existing });
    }
    const gpuCount = model.gpus.kind === 'all' ? existing.length : new Set(model.gpus.indices).size;
    if (tp > gpuCount) {
      problems.push({ kind: 'tp-exceeds-gpus', key: model.key, tensorParallelSize: tp, gpuCount });
    }
    const utilization = model.gpuMemoryUtilization ?? defaultUtilization;
    for (const gpu of workingGpus(model.gpus, tp, existing)) {
      const shares = starting.get(gpu) ?? [];
      // Members of a swap group never hold the GPU together (one is awake, the others asleep
      // or stopped): the group needs as much as its largest member.
      const peer = model.swapGroup ? groupOf.get(`${gpu}\0${model.swapGroup}`) : undefined;
      if (peer) {
        if (utilization > peer.utilization) Object.assign(peer, { key: model.key, utilization, defaulted: model.gpuMemoryUtilization === undefined });
        continue;
      }
      const share = { key: model.key, utilization, defaulted: model.gpuMemoryUtilization === undefined };
      if (model.swapGroup) groupOf.set(`${gpu}\0${model.swapGroup}`, share);
      shares.push(share);
      starting.set(gpu, shares);
    }
  }

  for (const old of input.replacing ?? []) {
    const utilization = old.gpuMemoryUtilization ?? defaultUtilization;
    for (const gpu of workingGpus(old.gpus, old.tensorParallelSize ?? 1, existing)) {
      const info = input.gpus.find((g) => g.index === gpu);
      if (!info) continue;
      const entry = freed.get(gpu) ?? { mib: 0, keys: [] };
      entry.mib += info.totalMiB * utilization;
      entry.keys.push(old.key);
      freed.set(gpu, entry);
    }
  }

  for (const info of [...input.gpus].sort((a, b) => a.index - b.index)) {
    const shares = starting.get(info.index);
    if (!shares) continue;
    const release = freed.get(info.index);
    const freedMiB = Math.min(release?.mib ?? 0, info.usedMiB);
    const availableMiB = info.freeMiB + freedMiB;
    const utilizationSum = round2(shares.reduce((sum, s) => sum + s.utilization, 0));
    const requiredMiB = info.totalMiB * utilizationSum;
    if (availableMiB >= requiredMiB) continue;
    problems.push({
      kind: 'insufficient-memory',
      gpu: info.index,
      ...(info.name ? { gpuName: info.name } : {}),
      totalMiB: info.totalMiB,
      freeMiB: info.freeMiB,
      freedMiB,
      availableMiB,
      requiredMiB,
      models: shares,
      replaced: release?.keys ?? [],
      utilizationSum,
      maxUtilization: maxFittingUtilization(availableMiB, info.totalMiB),
    });
  }
  return problems;
}

/** MiB → `126.4 GiB`. */
export const formatGiB = (mib: number): string => `${(mib / 1024).toFixed(1)} GiB`;

const formatUtil = (u: number): string => u.toFixed(2);

const listIndices = (indices: number[]): string =>
  indices.length === 0 ? 'none' : indices.length === 1 ? `GPU ${indices[0]}` : `GPUs ${indices.join(', ')}`;

/**
 * One line per problem, for the CLI: what is wrong, with the numbers, and what to change in
 * models.yaml.
 */
export function formatGpuProblems(problems: GpuProblem[]): string[] {
  return problems.map((p) => {
    switch (p.kind) {
      case 'no-gpus':
        return `${p.key}: gpus: all, but no GPU was found on this machine — set gpus: none or run where nvidia-smi sees a GPU`;
      case 'unknown-gpu': {
        const which = p.missing.length === 1 ? `GPU ${p.missing[0]} does not exist` : `GPUs ${p.missing.join(', ')} do not exist`;
        const has = p.available.length === 0 ? 'no GPU was found' : `this machine has ${listIndices(p.available)}`;
        return `${p.key}: ${which} (${has}) — fix gpus in models.yaml`;
      }
      case 'tp-exceeds-gpus':
        return (
          `${p.key}: tensor-parallel-size ${p.tensorParallelSize} needs ${p.tensorParallelSize} GPUs, but it gets ${p.gpuCount}` +
          ` — give it more gpus or set tensor-parallel-size: ${Math.max(1, p.gpuCount)}`
        );
      case 'insufficient-memory': {
        const gpu = `GPU ${p.gpu}${p.gpuName ? ` (${p.gpuName})` : ''}`;
        const who = p.models
          .map((m) => `${m.key} at ${formatUtil(m.utilization)}${m.defaulted ? ' (default)' : ''}`)
          .join(' + ');
        const free =
          p.freedMiB > 0
            ? `${formatGiB(p.freeMiB)} free + ${formatGiB(p.freedMiB)} from replaced ${p.replaced.join(', ')}`
            : `${formatGiB(p.freeMiB)} free`;
        const head = `${gpu}: ${who} need${p.models.length === 1 ? 's' : ''} ${formatGiB(p.requiredMiB)}, but only ${free} of ${formatGiB(p.totalMiB)}`;
        if (p.maxUtilization <= 0) {
          return `${head} — free the GPU first (see nvidia-smi), or place the model${p.models.length === 1 ? '' : 's'} on another GPU`;
        }
        if (p.models.length === 1) {
          return `${head} — set gpu-memory-utilization: ${formatUtil(p.maxUtilization)} or lower, or free memory on the GPU`;
        }
        const each = Math.floor((Math.min(p.maxUtilization, 0.95) / p.models.length) * 100 + 1e-9) / 100;
        return (
          `${head} — their gpu-memory-utilization must sum to at most ${formatUtil(p.maxUtilization)}` +
          ` (now ${formatUtil(p.utilizationSum)}), e.g. ${formatUtil(each)} each`
        );
      }
    }
  });
}

/** Runs a program: resolves with its stdout and exit code; rejects when it cannot be started. */
export type ExecFn = (command: string, args: readonly string[]) => Promise<{ stdout: string; code: number }>;

/** Options of {@link detectGpusLocally}. */
export interface DetectGpusOptions {
  /** How to run a program. @default execFile from node:child_process, with a timeout */
  exec?: ExecFn;
  /** The program. @default 'nvidia-smi' */
  command?: string;
  /** Give up on a hung `nvidia-smi` (a wedged driver can hang it). @default 15000 */
  timeoutMs?: number;
}

const execWithTimeout =
  (timeoutMs: number): ExecFn =>
  (command, args) =>
    new Promise((resolve, reject) => {
      execFile(command, [...args], { timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024 }, (error, stdout) => {
        if (!error) return resolve({ stdout, code: 0 });
        // A number is the exit code; a string (ENOENT, EACCES) or null (killed) means it did not run.
        if (typeof error.code === 'number') return resolve({ stdout, code: error.code });
        reject(error);
      });
    });

/**
 * List this machine's GPUs with `nvidia-smi` ({@link NVIDIA_SMI_QUERY_ARGS}). Returns
 * `'unavailable'` when `nvidia-smi` is missing, fails, hangs, or prints something unreadable:
 * callers then skip or defer the GPU checks (CI machines have no GPU).
 */
export async function detectGpusLocally(options: DetectGpusOptions = {}): Promise<GpuInfo[] | 'unavailable'> {
  const exec = options.exec ?? execWithTimeout(options.timeoutMs ?? 15_000);
  let result: { stdout: string; code: number };
  try {
    result = await exec(options.command ?? 'nvidia-smi', NVIDIA_SMI_QUERY_ARGS);
  } catch {
    return 'unavailable';
  }
  if (result.code !== 0) return 'unavailable';
  const parsed = parseNvidiaSmi(result.stdout);
  return parsed.ok ? parsed.gpus : 'unavailable';
}
