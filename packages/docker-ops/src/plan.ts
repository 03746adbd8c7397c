import type { ModelSpec } from '@inferstack/config';
import type { ModelContainer } from './containers.js';
import { SPEC_FIELDS, specFieldDigests } from './labels.js';

/** What `apply` will do for one model. */
export type ModelChange =
  | { action: 'create'; key: string; spec: ModelSpec }
  | { action: 'recreate'; key: string; spec: ModelSpec; container: ModelContainer; reason: RecreateReason; changed: string[] }
  | { action: 'start'; key: string; spec: ModelSpec; container: ModelContainer }
  | { action: 'keep'; key: string; spec: ModelSpec; container: ModelContainer; adopted: boolean }
  | { action: 'remove'; key: string; container: ModelContainer; reason: 'not-in-config' | 'duplicate' };

export type RecreateReason = 'changed' | 'forced' | 'crashed' | 'unhealthy';
export type ModelAction = ModelChange['action'];

/** Options for {@link planModels}. */
export interface PlanOptions {
  /** Remove containers of models that are not in `desired` (serving all models). @default false */
  removeOrphans?: boolean;
  /** Recreate every desired model even when unchanged (`--force-recreate`). @default false */
  forceRecreate?: boolean;
}

/** Which fields of a container's recorded spec differ from `spec`. */
export function changedFields(spec: ModelSpec, container: ModelContainer): string[] {
  if (container.specHash === spec.specHash) return [];
  const now = specFieldDigests(spec);
  const was = container.specFields ?? {};
  const changed = SPEC_FIELDS.filter((f) => was[f] !== now[f]);
  // Equal visible fields but another hash: a secret (HF token, API key) changed.
  return changed.length > 0 ? changed : ['secrets'];
}

/**
 * Compare the models the config wants with the containers that exist and say, per model,
 * what to do. Pure: no Docker calls, so `--dry-run` and `serve plan` are this function.
 */
export function planModels(desired: readonly ModelSpec[], actual: readonly ModelContainer[], options: PlanOptions = {}): ModelChange[] {
  const byKey = new Map<string, ModelContainer[]>();
  for (const c of actual) byKey.set(c.key, [...(byKey.get(c.key) ?? []), c]);
  const changes: ModelChange[] = [];

  for (const spec of desired) {
    const found = byKey.get(spec.key) ?? [];
    byKey.delete(spec.key);
    // The container with our name is the model's; any other with its label is a leftover.
    const primary = found.find((c) => c.name === spec.containerName) ?? found[0];
    for (const extra of found) {
      if (extra !== primary) changes.push({ action: 'remove', key: spec.key, container: extra, reason: 'duplicate' });
    }
    if (!primary) {
      changes.push({ action: 'create', key: spec.key, spec });
      continue;
    }
    const adopted = primary.specHash === undefined;
    const changed = adopted ? [] : changedFields(spec, primary);
    if (options.forceRecreate) {
      changes.push({ action: 'recreate', key: spec.key, spec, container: primary, reason: 'forced', changed });
    } else if (changed.length > 0) {
      changes.push({ action: 'recreate', key: spec.key, spec, container: primary, reason: 'changed', changed });
    } else if (primary.state === 'restarting' || primary.state === 'dead') {
      changes.push({ action: 'recreate', key: spec.key, spec, container: primary, reason: 'crashed', changed: [] });
    } else if (primary.state === 'running' && primary.health === 'unhealthy') {
      changes.push({ action: 'recreate', key: spec.key, spec, container: primary, reason: 'unhealthy', changed: [] });
    } else if (primary.state === 'running') {
      changes.push({ action: 'keep', key: spec.key, spec, container: primary, adopted });
    } else {
      changes.push({ action: 'start', key: spec.key, spec, container: primary });
    }
  }

  if (options.removeOrphans) {
    for (const [key, containers] of byKey) {
      for (const container of containers) changes.push({ action: 'remove', key, container, reason: 'not-in-config' });
    }
  }
  return changes;
}

/** Whether a plan changes anything (for `serve plan --exit-code`). */
export function planHasChanges(changes: readonly ModelChange[]): boolean {
  return changes.some((c) => c.action !== 'keep');
}

/** Whether two GPU selections share a GPU (`all` shares with any GPU model; `none` with none). */
export function gpusOverlap(a: ModelSpec['gpus'], b: ModelSpec['gpus']): boolean {
  if (a.kind === 'none' || b.kind === 'none') return false;
  if (a.kind === 'all' || b.kind === 'all') return true;
  return a.indices.some((i) => b.indices.includes(i));
}
