import { formatGpuLabel, type ModelSpec } from '@inferstack/config';
import type { ContainerHealth, ContainerState, ModelContainer } from './containers.js';
import { drift } from './plan.js';

/** How a model's container compares with the config. */
export type SyncState = 'in-sync' | 'changed' | 'adopted' | 'orphan' | 'missing';

/** One row of `serve status`. */
export interface ModelStatus {
  key: string;
  containerName: string;
  state: ContainerState | 'absent';
  health: ContainerHealth;
  sync: SyncState;
  /** Fields that differ from the config when `sync` is `changed`. */
  changed: string[];
  gpus: string;
  image: string;
  /** Docker's status text (`Up 2 hours (healthy)`), with the uptime. */
  status: string;
  servedModelName?: string;
  container?: ModelContainer;
}

/**
 * One row per model in the config and per model container not in it (orphans). Pure: the
 * caller lists containers once.
 */
export function modelStatuses(
  specs: readonly ModelSpec[],
  containers: readonly ModelContainer[],
  options: {
    network?: string;
    /** The stack's private network (see `PlanOptions.privateNetwork`). */
    privateNetwork?: string;
    /** The address this host's models publish vLLM's port on (see `PlanOptions.publishOn`). */
    publishOn?: string;
  } = {},
): ModelStatus[] {
  const rows: ModelStatus[] = [];
  const seen = new Set<string>();
  for (const spec of specs) {
    const container = containers.find((c) => c.key === spec.key && c.name === spec.containerName) ?? containers.find((c) => c.key === spec.key);
    for (const c of containers) if (c.key === spec.key) seen.add(c.id);
    const changed = container ? drift(spec, container, options.network, options.publishOn, options.privateNetwork) : [];
    rows.push({
      key: spec.key,
      containerName: spec.containerName,
      state: container?.state ?? 'absent',
      health: container?.health ?? 'none',
      sync: !container ? 'missing' : changed.length > 0 ? 'changed' : container.specHash === undefined ? 'adopted' : 'in-sync',
      changed,
      gpus: container?.gpus ?? formatGpuLabel(spec.gpus),
      image: container?.image ?? spec.image,
      status: container?.status ?? 'not created',
      servedModelName: spec.servedModelName,
      container,
    });
  }
  for (const c of containers) {
    if (seen.has(c.id)) continue;
    rows.push({
      key: c.key,
      containerName: c.name,
      state: c.state,
      health: c.health,
      sync: 'orphan',
      changed: [],
      gpus: c.gpus ?? '?',
      image: c.image,
      status: c.status,
      servedModelName: c.servedModelName,
      container: c,
    });
  }
  return rows;
}
