import type { ModelSpec } from '@inferstack/config';

/*
 * A model with `replicas:` runs as several containers of one spec: replica 0 is the model's
 * usual container (`inference-<key>`), replica i its own `inference-<key>-r<i>`, each labelled
 * with its index (`inferstack.replica`). The plan treats each replica as a model of its own
 * (created, replaced, removed); the gateway routes the model's name to every replica that serves.
 */

/** The container name of replica `replica` of a model whose (first) container is `containerName`. */
export function replicaContainerName(containerName: string, replica: number): string {
  return replica === 0 ? containerName : `${containerName}-r${replica}`;
}

/**
 * Which replicas of a model should run, by index: a fixed count is `0 … n-1`. A model that scales
 * (`min < max`) keeps the replicas that run (`existing`, those below `max`), and gets the lowest
 * free indices up to `max(min, 1)`: `up` starts at least one, the watcher adds and removes the
 * rest on load. A model that sleeps with `min: 0` starts one too; its idle policy puts it away.
 */
export function replicaIndices(spec: Pick<ModelSpec, 'replicas'>, existing: readonly number[] = []): number[] {
  const { min, max } = spec.replicas;
  if (min === max) return range(max);
  const kept = [...new Set(existing)].filter((i) => i >= 0 && i < max).sort((a, b) => a - b);
  const want = Math.max(min, 1);
  for (let i = 0; kept.length < want; i++) if (!kept.includes(i)) kept.push(i);
  return kept.sort((a, b) => a - b);
}

/** One spec per replica index: the first is `spec` itself; the others carry `replica` and their own container name. */
export function replicaSpecs(spec: ModelSpec, indices: readonly number[]): ModelSpec[] {
  return indices.map((i) => (i === 0 ? spec : { ...spec, replica: i, containerName: replicaContainerName(spec.containerName, i) }));
}

/** `key` for the first replica, `key#i` for the others: how a replica is named in plans, events and outcomes. */
export function replicaLabel(key: string, replica: number | undefined): string {
  return replica ? `${key}#${replica}` : key;
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
