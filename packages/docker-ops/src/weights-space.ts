import type { ModelSpec, PullPolicy } from '@inferstack/config';
import type { CacheDisk } from './weights-program.js';
import { formatBytes } from './weights-progress.js';

/*
 * The decisions around a pull that need no Docker: whether the cache disks can hold what is
 * missing (the pre-flight refuses before anything is downloaded), whether to pull at all under a
 * model's pull policy, and whether a model starts offline. Pure.
 */

/** What one model still needs on one host's cache disk. */
export interface WeightsSpaceNeed {
  key: string;
  /** The Docker host (a `hosts:` name). */
  host: string;
  /** Its cache disk (from `inspectWeights` or `cacheDiskSpace`). */
  disk: CacheDisk;
  /** Bytes still to download (`WeightsInspection.missingBytes`). */
  missingBytes: number;
}

/** A cache disk that cannot hold what the models on it still need. */
export interface WeightsSpaceProblem {
  host: string;
  path: string;
  freeBytes: number;
  totalBytes: number;
  /** The sum of what the models on this disk still need. */
  neededBytes: number;
  models: Array<{ key: string; missingBytes: number }>;
  message: string;
  hint: string;
}

/**
 * Refuse what would fill a cache disk: per host and disk (models whose caches share a filesystem
 * share its space, however their mounts are named), the bytes the models still need against the
 * bytes free, less `reserveBytes` kept free for everything else. huggingface_hub only warns when
 * a file will not fit, and a disk that fills up stops vLLM and the host, so the check is ours.
 */
export function checkWeightsSpace(needs: readonly WeightsSpaceNeed[], options: { reserveBytes?: number } = {}): WeightsSpaceProblem[] {
  const reserve = options.reserveBytes ?? 0;
  const groups = new Map<string, { host: string; disk: CacheDisk; models: Array<{ key: string; missingBytes: number }> }>();
  for (const need of needs) {
    if (need.missingBytes <= 0) continue;
    const id = `${need.host}\u0000${need.disk.device}`;
    const group = groups.get(id) ?? { host: need.host, disk: need.disk, models: [] };
    group.models.push({ key: need.key, missingBytes: need.missingBytes });
    groups.set(id, group);
  }
  const problems: WeightsSpaceProblem[] = [];
  for (const { host, disk, models } of groups.values()) {
    const neededBytes = models.reduce((n, m) => n + m.missingBytes, 0);
    const usable = Math.max(0, disk.freeBytes - reserve);
    if (neededBytes <= usable) continue;
    const who = models.map((m) => `${m.key} ${formatBytes(m.missingBytes)}`).join(', ');
    const kept = reserve > 0 ? `, keeping ${formatBytes(reserve)} free` : '';
    problems.push({
      host,
      path: disk.path,
      freeBytes: disk.freeBytes,
      totalBytes: disk.totalBytes,
      neededBytes,
      models,
      message: `host ${host}: the Hugging Face cache (${disk.path}) has ${formatBytes(disk.freeBytes)} free of ${formatBytes(disk.totalBytes)}; the weights still to download need ${formatBytes(neededBytes)} (${who})${kept}`,
      hint: `free ${formatBytes(neededBytes - usable)} on that disk, move the cache to a larger one (HUGGINGFACE_CACHE in .env), or pull fewer models at once`,
    });
  }
  return problems;
}

/** Whether to pull a model's weights before it starts, and why. */
export interface WeightsPullDecision {
  pull: boolean;
  reason: string;
}

/**
 * A model's pull policy (`pull:`) governs its weights as it governs its image: `missing` pulls
 * when the cache lacks something (a complete cache is not asked about at the Hub: `cacheState`
 * reads it offline), `always` asks the Hub every time (a branch that moved brings its new files),
 * `never` never downloads (vLLM then does what it did before: downloads at start unless offline).
 */
export function decideWeightsPull(policy: PullPolicy, state: { complete: boolean } | undefined): WeightsPullDecision {
  if (policy === 'never') return { pull: false, reason: 'pull: never' };
  if (policy === 'always') return { pull: true, reason: 'pull: always' };
  if (state?.complete) return { pull: false, reason: 'complete in the cache' };
  return { pull: true, reason: state ? 'missing from the cache' : 'the cache was not read' };
}

/**
 * The environment a model starts with once its weights are in the cache: `HF_HUB_OFFLINE=1`, so
 * that vLLM and transformers ask the Hub nothing (a start needs no network, and no Hub outage or
 * rate limit can stop it), unless the user set `HF_HUB_OFFLINE` themselves or vLLM could not
 * find its files offline (`offline.ready`). Not part of the model's spec hash: adding it must not
 * make a running model look changed.
 */
export function offlineStartEnv(spec: Pick<ModelSpec, 'env'>, state: { complete: boolean; offline: { ready: boolean } } | undefined): Record<string, string> {
  if ('HF_HUB_OFFLINE' in spec.env) return {};
  return state?.complete && state.offline.ready ? { HF_HUB_OFFLINE: '1' } : {};
}
